import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSharedAudit, type SharedAudit } from '../../gateway/src/cluster/shared-audit.js';
import { createLogger } from '../../gateway/src/observability/logger.js';
import { createSqliteAuditLog } from '../../gateway/src/store/audit-log-sqlite.js';
import { openVolatileStore } from '../../gateway/src/store/volatile-store.js';
import { type PrivateRedis, startPrivateRedis } from '../helpers/private-redis.js';

describe("the cluster's audit log across a Redis outage, on a real redis-server", () => {
  let redis: PrivateRedis;
  const opened: SharedAudit[] = [];
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    for (const node of opened) node.close();
    await redis?.dispose();
  });
  const node = async (nodeId: string): Promise<SharedAudit> => {
    const audit = createSharedAudit({
      local: createSqliteAuditLog(openVolatileStore(), Date.now),
      redisUrl: redis.url,
      keyPrefix: 'outage:',
      nodeId,
      maxEntries: 10_000,
      log: createLogger('silent'),
    });
    await audit.start();
    opened.push(audit);
    return audit;
  };
  const ack = (target: string) =>
    ({
      actor: 'wang',
      actorKind: 'user',
      action: 'alarm.ack',
      target,
      outcome: 'ok',
      note: null,
      by: null,
      address: null,
      detail: null,
    }) as const;
  const targets = (audit: SharedAudit) => audit.query({ limit: 100 }).map((entry) => entry.target);

  it('what a node records while Redis is down reaches the other nodes once it is back, in the order recorded', async () => {
    const a = await node('node-a');
    const b = await node('node-b');
    a.record(ack('alm_1'));
    await expect.poll(() => targets(b)).toEqual(['alm_1']);
    await redis.stop();
    for (const target of ['alm_2', 'alm_3', 'alm_4']) a.record(ack(target));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await redis.start();
    await expect.poll(() => targets(b), { timeout: 15_000 }).toEqual(['alm_4', 'alm_3', 'alm_2', 'alm_1']);
    // each once
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(targets(b)).toHaveLength(4);
  }, 40_000);
});
