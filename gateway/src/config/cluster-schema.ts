import { hostname } from 'node:os';
import { z } from 'zod';
import { durationSchema } from '../../../rules/src/index.js';

/** A node's name in the cluster: what `/api/cluster` lists and what owns sites. */
export const nodeIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1–64 characters of A-Z a-z 0-9 _ . -')
  .describe('this node’s name in the cluster; unique among the nodes (default: the host name and process id)');

/** A URL that ioredis accepts: `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
const redisUrl = z
  .string()
  .refine((url) => /^rediss?:\/\/[^/]+(\/\d+)?$/.test(url), 'expected redis://[user:password@]host:port[/db] or rediss://…');

/**
 * Several gateway nodes as one (`cluster:` in the config; absent: a single node, nothing else needed). Every node
 * embeds aedes on one Redis — messages fan out through `mqemitter-redis`, sessions, subscriptions, retained
 * messages and QoS 1 in flight live in `aedes-persistence-redis` — so a device or an operator may connect to any
 * node behind a TCP load balancer. Nodes register in Redis with a heartbeat; each site has one owner among the live
 * nodes (rendezvous hashing), listed by `GET /api/cluster`.
 */
export const clusterSchema = z
  .object({
    redis: z.object({ url: redisUrl }).strict(),
    nodeId: nodeIdSchema.default(
      () =>
        `${hostname()
          .replace(/[^A-Za-z0-9_.-]/g, '-')
          .slice(0, 50)}-${process.pid}`,
    ),
    /** How often a node renews its membership in Redis. */
    heartbeat: durationSchema.default(1_000),
    /** A node whose last heartbeat is older than this is gone: its sites move to the others. */
    memberTimeout: durationSchema.default(5_000),
    /**
     * How long the node a device is connected to waits for the verdict of its site's owner; past it the PUBLISH is
     * not acknowledged (the device sends it again).
     */
    forwardTimeout: durationSchema.default(5_000),
    /** Keys in Redis start with this (several clusters on one Redis keep apart). */
    keyPrefix: z
      .string()
      .regex(/^[A-Za-z0-9_:.-]{1,32}$/)
      .default('gw:'),
  })
  .strict()
  .superRefine((cluster, ctx) => {
    if (cluster.memberTimeout < 2 * cluster.heartbeat)
      ctx.addIssue({
        code: 'custom',
        path: ['memberTimeout'],
        message: `must be at least twice heartbeat (${cluster.heartbeat} ms), or one late heartbeat would make a live node gone`,
      });
  });

export type ClusterConfig = z.infer<typeof clusterSchema>;
