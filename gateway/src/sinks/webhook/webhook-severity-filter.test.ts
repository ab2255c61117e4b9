import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../../../rules/src/index.js';
import { call, cleared, raised, startHttpGateway } from '../../../../test/support/http-gateway.js';
import type { RunningGateway } from '../../gateway.js';

/** A real receiver: the events it took, as `type severity` per path (one path per subscriber). */
async function startReceiver() {
  const received = new Map<string, string[]>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AlarmEvent;
      const list = received.get(request.url ?? '') ?? [];
      list.push(`${event.type} ${event.data.alarm.device} ${event.data.alarm.severity}`);
      received.set(request.url ?? '', list);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const SECRET = `whsec_${Buffer.from('severity-filter-secret-32-bytes!').toString('base64')}`;
const T0 = Date.UTC(2026, 11, 6, 1, 0);
const MIN = 60_000;

describe('a webhook subscriber filtering by severity', () => {
  let gateway: RunningGateway | null = null;
  let receiver: Awaited<ReturnType<typeof startReceiver>> | null = null;
  afterEach(async () => {
    await gateway?.close();
    await receiver?.close();
  });

  it('follows an alarm from its first event at a listed severity to its end: the de-escalation, clear and resolution come too', async () => {
    receiver = await startReceiver();
    const hook = (id: string, severities: string[]) => ({
      id,
      url: `${receiver?.url}/${id}`,
      secrets: [SECRET],
      filter: { severities },
      retryBaseDelay: 50,
    });
    gateway = await startHttpGateway({}, { webhooks: [hook('red-only', ['red']), hook('yellow-only', ['yellow'])] });
    const running = gateway;
    // dc-01: orange, up to red, back to orange, cleared, resolved; dc-02: orange only
    running.alarms.apply([raised('dc-01', 'orange', T0), raised('dc-02', 'orange', T0)]);
    running.alarms.apply([raised('dc-01', 'red', T0 + MIN)]);
    running.alarms.apply([raised('dc-01', 'orange', T0 + 2 * MIN)]);
    running.alarms.apply([cleared('dc-01', T0 + 3 * MIN)]);
    const id = (await call(running, '/api/alarms?device=dc-01')).body.alarms[0].id;
    const resolved = await call(running, `/api/alarms/${id}/resolve`, { body: { by: 'Wang Li', note: 'valve replaced' } });
    expect(resolved.status).toBe(200);
    // dc-09 raised yellow, then up to red: the yellow-only subscriber took its raise, and is told the rest
    running.alarms.apply([raised('dc-09', 'yellow', T0 + 4 * MIN, 'site-b')]);
    running.alarms.apply([raised('dc-09', 'red', T0 + 5 * MIN, 'site-b')]);
    running.alarms.apply([cleared('dc-09', T0 + 6 * MIN, 'site-b')]);
    await running.settle();

    // in order per alarm (alarms go in parallel)
    const of = (path: string, device: string) => (receiver?.received.get(path) ?? []).filter((line) => line.includes(` ${device} `));
    expect(of('/red-only', 'dc-01')).toEqual([
      'alarm.escalated dc-01 red',
      'alarm.deescalated dc-01 orange',
      'alarm.cleared dc-01 orange',
      'alarm.resolved dc-01 orange',
    ]);
    expect(of('/red-only', 'dc-09')).toEqual(['alarm.escalated dc-09 red', 'alarm.cleared dc-09 red']);
    expect(receiver.received.get('/red-only')).toHaveLength(6); // nothing of dc-02, never red
    expect(receiver.received.get('/yellow-only')).toEqual([
      'alarm.raised dc-09 yellow',
      'alarm.escalated dc-09 red',
      'alarm.cleared dc-09 red',
    ]);
  });

  it('matches each event by the history up to its own transition: a batch raising yellow and escalating to red sends only the red', async () => {
    receiver = await startReceiver();
    gateway = await startHttpGateway(
      {},
      {
        webhooks: [
          { id: 'red-only', url: `${receiver.url}/red-only`, secrets: [SECRET], filter: { severities: ['red'] }, retryBaseDelay: 50 },
        ],
      },
    );
    // one lane batch: both changes are in the history before either event is matched
    gateway.alarms.apply([raised('dc-01', 'yellow', T0), raised('dc-01', 'red', T0 + 1_000)]);
    await gateway.settle();
    expect(receiver.received.get('/red-only')).toEqual(['alarm.escalated dc-01 red']);
  });
});
