import type { Alarm } from '../../../rules/src/index.js';
import type { TelemetryLane } from './telemetry-lane.js';

/**
 * Tells the lane again of the acknowledgements these alarms hold (those not resolved). The alarm book commits an
 * acknowledgement before the lane's commit lets a rule latched until acknowledged go; a crash between the two (or a
 * cluster node dying between them, for a site taken over) would leave the alarm latched with no way to acknowledge it
 * again. A rule not latched ignores it.
 */
export function retellAcknowledgements(lane: Pick<TelemetryLane, 'acknowledged'>, alarms: Iterable<Alarm>, at: number): void {
  for (const alarm of alarms) if (alarm.acknowledged && !alarm.resolved) lane.acknowledged(alarm.key, at);
}
