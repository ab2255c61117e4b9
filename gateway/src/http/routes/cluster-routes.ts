import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ClusterNode } from '../../cluster/cluster-node.js';
import { AUTH_ERRORS, errorResponses } from '../api-error.js';

const clusterView = z
  .object({
    mode: z.enum(['single', 'cluster']).describe('single: no `cluster:` in the config'),
    node: z.string().describe('this node’s id (`single` on a single node)'),
    members: z
      .array(
        z.object({
          nodeId: z.string(),
          mqtt: z.array(z.string()).describe('the node’s MQTT listeners'),
          http: z.string().describe('the node’s HTTP API'),
          startedAt: z.string().describe('ISO 8601'),
          expiresAt: z.string().describe('ISO 8601, Redis’s clock: the node is gone then unless it renews its membership'),
        }),
      )
      .describe('the live nodes, this one included, as of its last heartbeat ([] on a single node)'),
    owners: z.record(z.string(), z.string().nullable()).describe('each site of the registry → the node that owns it'),
    trouble: z.string().nullable().describe('null while this node is a current member and its Redis connections are up'),
  })
  .meta({
    description: 'the cluster as this node sees it',
    examples: [
      {
        mode: 'cluster',
        node: 'gw-a',
        members: [
          {
            nodeId: 'gw-a',
            mqtt: ['mqtt://0.0.0.0:1883'],
            http: 'http://10.0.0.11:8080',
            startedAt: '2026-12-02T08:00:00.000Z',
            expiresAt: '2026-12-02T08:30:05.000Z',
          },
        ],
        owners: { 'plant-a': 'gw-a' },
        trouble: null,
      },
    ],
  });

/** `GET /api/cluster`: membership and site ownership (README, Several nodes as one). */
export function registerClusterRoutes(app: FastifyInstance, deps: { cluster: ClusterNode }): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/api/cluster',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The cluster: this node, the live nodes and the owner of each site',
        tags: ['operations'],
        response: { 200: clusterView, ...errorResponses([...AUTH_ERRORS]) },
      },
    },
    async () => deps.cluster.view(),
  );
}
