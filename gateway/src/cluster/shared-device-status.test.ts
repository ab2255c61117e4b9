import { describe, expect, it } from 'vitest';
import { type DeviceStatus, unseenDeviceStatus } from '../devices/device-status.js';
import { mergeDeviceStatus } from './shared-device-status.js';

const status = (over: Partial<DeviceStatus>): DeviceStatus => ({ ...unseenDeviceStatus(), ...over });

describe('a device’s status across the nodes of a cluster (issue 16)', () => {
  it('connected to another node only: online here, with that node’s connection and time', () => {
    const merged = mergeDeviceStatus(status({}), [
      { status: status({ online: true, connections: 1, connectedAt: 5, lastSeen: 5 }), live: true },
    ]);
    expect(merged).toMatchObject({ online: true, connections: 1, connectedAt: 5, lastSeen: 5 });
  });

  it('a dead node’s connections are gone, but what it saw last (time, values) stays', () => {
    const merged = mergeDeviceStatus(status({ lastSeen: 3, lastReadingTs: 3, lastValues: { t: 1, p: 9 } }), [
      {
        status: status({ online: true, connections: 2, connectedAt: 4, lastSeen: 7, lastReadingTs: 7, lastValues: { t: 2 } }),
        live: false,
      },
    ]);
    expect(merged).toMatchObject({
      online: false,
      connections: 0,
      connectedAt: null,
      lastSeen: 7,
      lastReadingTs: 7,
      lastValues: { t: 2, p: 9 },
    });
  });

  it('connections add up over live nodes; the latest report wins; rejections add up; older values do not overwrite newer', () => {
    const merged = mergeDeviceStatus(
      status({
        online: true,
        connections: 1,
        connectedAt: 10,
        lastSeen: 20,
        reported: 'online',
        lastReadingTs: 20,
        lastValues: { t: 5 },
        rejections: { schema: 1 },
      }),
      [
        {
          status: status({
            online: true,
            connections: 1,
            connectedAt: 12,
            lastSeen: 15,
            reported: 'offline',
            lastReadingTs: 15,
            lastValues: { t: 4 },
            rejections: { schema: 2, unit: 1 },
          }),
          live: true,
        },
      ],
    );
    expect(merged).toMatchObject({
      online: true,
      connections: 2,
      connectedAt: 12,
      lastSeen: 20,
      reported: 'online',
      lastValues: { t: 5 },
      rejections: { schema: 3, unit: 1 },
    });
  });

  it('does not change this node’s own record', () => {
    const mine = status({ rejections: { schema: 1 } });
    mergeDeviceStatus(mine, [{ status: status({ rejections: { schema: 2 } }), live: true }]);
    expect(mine.rejections).toEqual({ schema: 1 });
  });
});
