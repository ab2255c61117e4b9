import type { DeviceRegistry } from '../devices/device-registry.js';
import { type TelemetryLane, UNAVAILABLE } from '../lane/telemetry-lane.js';
import type { ClusterNode } from './cluster-node.js';
import type { ReadingForwarder } from './reading-forwarder.js';
import type { SiteReplica } from './site-replica.js';

/** Whether this node judges a site now: it owns it and has taken over its state (cluster/site-takeover.ts). */
export type JudgesSite = (site: string) => boolean;

/**
 * The lane as the broker sees it in a cluster: a payload of a device whose site this node owns is judged here;
 * any other goes to the site's owner, and its verdict comes back from there. A site this node owns but is still
 * taking over is not judged yet: no PUBACK, the device sends it again. Everything else is the local lane.
 */
export function routeToOwners(lane: TelemetryLane, cluster: ClusterNode, judges: JudgesSite, forwarder: ReadingForwarder): TelemetryLane {
  return {
    ...lane,
    submit(device, payload, receivedAt, decided) {
      const owner = cluster.ownerOf(device.site);
      if (owner === null) return decided(UNAVAILABLE);
      if (owner !== cluster.nodeId) return forwarder.forward(owner, device, payload, receivedAt, decided);
      if (judges(device.site)) return lane.submit(device, payload, receivedAt, decided);
      decided(UNAVAILABLE);
    },
  };
}

/** What the owner does with a payload another node forwarded: judge it here if the site is still this node's. */
export function judgeForwarded(lane: TelemetryLane, cluster: ClusterNode, judges: JudgesSite, registry: DeviceRegistry) {
  return (deviceId: string, payload: Buffer, receivedAt: number, decided: Parameters<TelemetryLane['submit']>[3]): void => {
    const device = registry.get(deviceId);
    // Ownership moved meanwhile (the nodes saw the change one heartbeat apart): the device sends it again.
    if (device && cluster.owns(device.site) && judges(device.site)) lane.submit(device, payload, receivedAt, decided);
    else decided(UNAVAILABLE);
  };
}

/**
 * The lane whose verdicts wait for the shared store: a payload is acknowledged only once the rule state and alarm
 * changes it caused are written there — its site's write went through — or not at all: the device sends it again.
 */
export function settledFirst(lane: TelemetryLane, replica: Pick<SiteReplica, 'settled'>): TelemetryLane {
  return {
    ...lane,
    submit(device, payload, receivedAt, decided) {
      lane.submit(device, payload, receivedAt, (verdict) => {
        if (verdict.unavailable) return decided(verdict);
        void replica.settled(device.site).then((ok) => decided(ok ? verdict : UNAVAILABLE));
      });
    },
  };
}
