import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlarmChase, AlarmEvent, AlarmEventType } from '../../../../rules/src/index.js';
import type { WebhookSubscriberConfig } from '../../config/config-schema.js';
import { createLogger } from '../../observability/logger.js';
import { createGatewayMetrics } from '../../observability/metrics.js';
import { createMemoryWebhookOutbox } from './webhook-outbox.js';
import { createWebhookSink } from './webhook-sink.js';

/** A real HTTP receiver that records, per path (one per subscriber), the event ids it took. */
async function startReceiver() {
  const received: Array<{ path: string; id: string }> = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ path: request.url ?? '', id: (JSON.parse(Buffer.concat(chunks).toString('utf8')) as AlarmEvent).id });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const subscriber = (id: string, url: string, filter: WebhookSubscriberConfig['filter']): WebhookSubscriberConfig => ({
  id,
  kind: 'standard',
  language: 'zh',
  url: `${url}/${id}`,
  secrets: [`whsec_${Buffer.from('sink-test-secret-32-bytes-long!!').toString('base64')}`],
  filter,
  timeout: 5_000,
  maxAttempts: 3,
  maxQueued: 100,
  retryBaseDelay: 50,
  retryMaxDelay: 100,
  concurrency: 1,
});

const event = (id: string, type: AlarmEventType, chase?: Pick<AlarmChase, 'notify'>): AlarmEvent =>
  ({
    type,
    id,
    timestamp: '2026-11-22T08:05:03.120Z',
    data: { alarm: { id: `alm_${id}`, key: 'site-a/dc-01/r', seq: 2, site: 'site-a', device: 'dc-01', severity: 'red', chase } },
  }) as unknown as AlarmEvent;

describe('webhook sink: an escalation step goes to the subscribers it names', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('alarm.chased reaches a named subscriber whose filter does not match, the others by their filters; other events only by filter', async () => {
    const receiver = await startReceiver();
    cleanup.push(receiver.close);
    const sink = createWebhookSink({
      subscribers: [
        subscriber('manager', receiver.base, { severities: ['blue'] }),
        subscriber('dispatch', receiver.base, { sites: ['site-z'] }),
        subscriber('platform', receiver.base, { types: ['alarm.chased'] }),
        subscriber('other', receiver.base, { types: ['alarm.raised'] }),
      ],
      now: Date.now,
      outbox: createMemoryWebhookOutbox({ newId: () => 'dlq', now: Date.now, maxDeadLetters: 10 }),
      metrics: createGatewayMetrics({ processMetrics: false }),
      log: createLogger('silent'),
    });
    cleanup.push(() => sink.close());
    sink.deliver(event('evt_chase', 'alarm.chased', { notify: { subscribers: ['manager', 'unknown'], users: ['li.na'] } }));
    // a raise that carries the alarm's last chase does not go to the subscribers that chase named
    sink.deliver(event('evt_raise', 'alarm.raised', { notify: { subscribers: ['dispatch'], users: [] } }));
    await sink.idle(5_000);
    const took = (path: string) =>
      receiver.received
        .filter((r) => r.path === path)
        .map((r) => r.id)
        .sort();
    expect(took('/manager')).toEqual(['evt_chase']);
    expect(took('/dispatch')).toEqual([]);
    expect(took('/platform')).toEqual(['evt_chase']);
    expect(took('/other')).toEqual(['evt_raise']);
  });
});
