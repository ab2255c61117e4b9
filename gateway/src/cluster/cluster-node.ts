import type { ClusterConfig } from '../config/cluster-schema.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { createMembership, type Member, type Membership } from './membership.js';
import { ownerOf } from './ownership.js';
import type { SharedBrokerParts } from './shared-broker-parts.js';

/** What `GET /api/cluster` shows: this node, the live members and which node owns each site. */
export interface ClusterView {
  mode: 'single' | 'cluster';
  node: string;
  members: Array<Omit<Member, 'expiresAt'> & { expiresAt: string }>;
  /** Site → owning node id (null: no live node); every site of the registry. */
  owners: Record<string, string | null>;
  /** Null while the node is a current member with its Redis connections up; otherwise why not. */
  trouble: string | null;
}

/** This node's place in the cluster, or a single node's stand-in (it owns every site). */
export interface ClusterNode {
  readonly nodeId: string;
  /** This process's life as the node (`nodeId@startedAt`): what the shared store's fences name. */
  readonly incarnation: string;
  /** Joins (cluster mode): registers, starts the heartbeat. Resolves after the first heartbeat. */
  join(self: { mqtt: string[]; http: string }): Promise<void>;
  /** Whether this node owns `site` now. */
  owns(site: string): boolean;
  /** The node that owns `site` now (null: no live node, Redis unreachable since start). */
  ownerOf(site: string): string | null;
  /** The live node ids as this node last saw them, itself included. */
  nodeIds(): string[];
  /** Called with the sites this node owns (null: all) whenever that changes, and once on joining. */
  onOwnedSites(listener: (sites: string[] | null) => void): void;
  view(): ClusterView;
  /** For `/readyz`: null when all is well, else what the node waits for. */
  trouble(): string | null;
  leave(): Promise<void>;
}

export interface ClusterNodeDeps {
  /** The sites of the registry (ownership is by site: a site's inhibition and group rules stay on one node). */
  sites(): Iterable<string>;
  metrics: GatewayMetrics;
  log: Logger;
  now(): number;
}

const SINGLE_NODE = 'single';

/** A gateway without `cluster:`: one node owning everything, nothing to join. */
export function createSingleNode(deps: ClusterNodeDeps): ClusterNode {
  const sites = () => [...new Set(deps.sites())].sort();
  return {
    nodeId: SINGLE_NODE,
    incarnation: SINGLE_NODE,
    async join() {
      deps.metrics.clusterMembers.set(1);
      deps.metrics.clusterSitesOwned.set(sites().length);
    },
    owns: () => true,
    ownerOf: () => SINGLE_NODE,
    nodeIds: () => [SINGLE_NODE],
    onOwnedSites() {},
    view: () => ({
      mode: 'single',
      node: SINGLE_NODE,
      members: [],
      owners: Object.fromEntries(sites().map((site) => [site, SINGLE_NODE])),
      trouble: null,
    }),
    trouble: () => null,
    async leave() {},
  };
}

/** A node of a cluster on Redis: membership by heartbeat, site ownership by rendezvous hashing over the live nodes. */
export function createClusterNode(config: ClusterConfig, broker: SharedBrokerParts, deps: ClusterNodeDeps): ClusterNode {
  let membership: Membership | null = null;
  let owned = new Set<string>();
  let owners = new Map<string, string | null>();
  const listeners: Array<(sites: string[] | null) => void> = [];
  const sites = () => [...new Set(deps.sites())].sort();
  const startedAt = new Date(deps.now()).toISOString();
  const incarnation = `${config.nodeId}@${startedAt}`;
  const recompute = (nodes: string[]): void => {
    owners = new Map(sites().map((site) => [site, ownerOf(site, nodes)]));
    owned = new Set(sites().filter((site) => owners.get(site) === config.nodeId));
    for (const listener of listeners) listener([...owned]);
    deps.metrics.clusterMembers.set(nodes.length);
    deps.metrics.clusterSitesOwned.set(owned.size);
    deps.log.info({ node: config.nodeId, nodes, sitesOwned: owned.size }, 'site ownership computed');
  };
  const node: ClusterNode = {
    nodeId: config.nodeId,
    incarnation,
    async join(self) {
      membership = createMembership({
        redisUrl: config.redis.url,
        keyPrefix: config.keyPrefix,
        heartbeat: config.heartbeat,
        memberTimeout: config.memberTimeout,
        self: { nodeId: config.nodeId, ...self, startedAt },
        incarnation,
        log: deps.log,
        now: deps.now,
      });
      membership.onChange(recompute);
      await membership.start();
    },
    owns: (site) => owned.has(site),
    ownerOf: (site) => owners.get(site) ?? null,
    nodeIds: () => membership?.nodeIds() ?? [],
    onOwnedSites(listener) {
      listeners.push(listener);
    },
    view() {
      const nodes = membership?.nodeIds() ?? [];
      return {
        mode: 'cluster',
        node: config.nodeId,
        members: (membership?.members() ?? []).map((member) => ({ ...member, expiresAt: new Date(member.expiresAt).toISOString() })),
        owners: Object.fromEntries(sites().map((site) => [site, ownerOf(site, nodes)])),
        trouble: node.trouble(),
      };
    },
    trouble() {
      const problems = [membership ? membership.trouble() : 'not joined', broker.trouble()].filter((p): p is string => p !== null);
      return problems.length > 0 ? problems.join('; ') : null;
    },
    async leave() {
      await membership?.close();
    },
  };
  return node;
}
