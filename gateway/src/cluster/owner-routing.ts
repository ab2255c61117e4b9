import type { DeviceRegistry } from '../devices/device-registry.js';
import { type TelemetryLane, UNAVAILABLE } from '../lane/telemetry-lane.js';
import type { ClusterNode } from './cluster-node.js';
import type { ReadingForwarder } from './reading-forwarder.js';

/**
 * The lane as the broker sees it in a cluster: a payload of a device whose site this node owns is judged here;
 * any other goes to the site's owner, and its verdict comes back from there. Everything else is the local lane.
 */
export function routeToOwners(lane: TelemetryLane, cluster: ClusterNode, forwarder: ReadingForwarder): TelemetryLane {
  return {
    ...lane,
    submit(device, payload, receivedAt, decided) {
      const owner = cluster.ownerOf(device.site);
      if (owner === null) return decided(UNAVAILABLE);
      if (owner === cluster.nodeId) return lane.submit(device, payload, receivedAt, decided);
      forwarder.forward(owner, device, payload, receivedAt, decided);
    },
  };
}

/** What the owner does with a payload another node forwarded: judge it here if the site is still this node's. */
export function judgeForwarded(lane: TelemetryLane, cluster: ClusterNode, registry: DeviceRegistry) {
  return (deviceId: string, payload: Buffer, receivedAt: number, decided: Parameters<TelemetryLane['submit']>[3]): void => {
    const device = registry.get(deviceId);
    // Ownership moved meanwhile (the nodes saw the change one heartbeat apart): the device sends it again.
    if (device && cluster.owns(device.site)) lane.submit(device, payload, receivedAt, decided);
    else decided(UNAVAILABLE);
  };
}
