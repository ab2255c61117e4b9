import { DAY, HOUR, MINUTE } from '../../time/duration.js';
import {
  type ActiveEvent,
  type DeviceModel,
  hasEvent,
  type ModelDefinition,
  type ModelInput,
  numberParam,
  type Report,
} from '../device-model.js';
import { lag, quantise, smoothstep } from '../sensor.js';

export type TailingsRole = 'pond' | 'piezometer' | 'gnss';

/**
 * One monitoring point of a tailings pond (GB 51108-2015): the pond station (level, dry beach, freeboard,
 * rain, seepage), a piezometer (phreatic-line depth), or a GNSS point on the dam. A rainstorm (15 mm/h for
 * 6 h) raises the pond ~0.8 m over 12 h and shortens the beach 150 → 90 m; the piezometers follow one after
 * another, each with its own lag (param lagHours), 12 → 8 m over two days. Domain: monitors.md § tailings-dam.
 */
export const tailingsModel: ModelDefinition = {
  profile: 'tailings-dam',
  defaultIntervalMs: HOUR,
  aligned: true,
  events: {
    rainstorm: 'rain at param rate mm/h (default 15); the pond, beach and piezometers respond over hours to days',
    seepage_surge: 'seepage flow rises param factor (default 1.8×) within 30 min',
    dam_creep: 'the dam moves param rate mm/d (default 6) downstream',
  },
  create: createTailings,
};

function roleOf(value: unknown): TailingsRole {
  return value === 'piezometer' || value === 'gnss' ? value : 'pond';
}

function createTailings({ rng, attributes, params, start }: ModelInput): DeviceModel {
  const role = roleOf(params.role ?? attributes.role);
  const interval = numberParam(params, 'intervalMin', 60) * MINUTE;
  const baseLevel = numberParam(params, 'pondLevel', 1200.0);
  const crest = numberParam(params, 'crestLevel', 1203.5);
  const baseBeach = numberParam(params, 'beachM', 150);
  const baseDepth = numberParam(params, 'depthM', 12);
  const depthDrop = numberParam(params, 'depthDropM', 4);
  const lagMs = numberParam(params, 'lagHours', 0) * HOUR;
  const seepageBase = numberParam(params, 'seepageLps', 5);

  let last = start;
  let rainCarry = 0;
  /** Rain fallen on the catchment in the current storm (mm) and when the storm began. */
  let stormRain = 0;
  let stormStart: number | null = null;
  let recovery = 1;
  let seepage = seepageBase;
  let displacement = 0;

  /** 0 → 1: how much of the storm's effect has reached a point `delayMs` behind the pond and taking `riseMs`. */
  const response = (t: number, delayMs: number, riseMs: number): number =>
    stormStart === null ? 0 : smoothstep(stormStart + delayMs, stormStart + delayMs + riseMs, t) * Math.min(1, stormRain / 90) * recovery;

  return {
    intervalMs: () => interval,
    read(t: number, events: readonly ActiveEvent[]): Report {
      const dt = Math.max(0, t - last);
      last = t;
      const storm = hasEvent(events, 'rainstorm');
      const rate = storm ? numberParam(storm.params, 'rate', 15) : 0;
      // the gauge catches ±20 % of the storm's rain each hour; the pond and every piezometer answer to what fell on
      // the whole catchment, one storm for all points of the pond (a point's own draw would time each differently)
      rainCarry += storm ? (rate * rng.between(0.8, 1.2) * dt) / HOUR : 0;
      const tipped = Math.floor(rainCarry / 0.2 + 1e-9) * 0.2;
      rainCarry -= tipped;
      if (storm) {
        stormStart ??= storm.since;
        stormRain += (rate * dt) / HOUR;
        recovery = 1;
      } else if (stormStart !== null && t > stormStart + 4 * DAY) {
        // The pond is drawn down by the decant and the phreatic line slowly sinks back.
        recovery = lag(recovery, 0, dt, 4 * DAY);
      }
      const creep = hasEvent(events, 'dam_creep');
      displacement += creep ? (numberParam(creep.params, 'rate', 6) * dt) / DAY : 0;

      if (role === 'piezometer') {
        const rise = response(t, 6 * HOUR + lagMs, 2 * DAY);
        return { metrics: { phreatic_depth: quantise(baseDepth - depthDrop * rise + rng.gaussian(0.02), 0.01) } };
      }
      if (role === 'gnss') {
        return {
          metrics: {
            disp_east: quantise(displacement * 0.8 + rng.gaussian(1.5), 0.1),
            disp_north: quantise(displacement * 0.6 + rng.gaussian(1.5), 0.1),
            disp_up: quantise(-displacement * 0.2 + rng.gaussian(3), 0.1),
          },
        };
      }
      const pond = response(t, 0, 12 * HOUR);
      const level = baseLevel + 0.8 * pond;
      const surge = hasEvent(events, 'seepage_surge');
      const seepageTarget = seepageBase * (1 + 0.2 * response(t, 6 * HOUR, DAY)) * (surge ? numberParam(surge.params, 'factor', 1.8) : 1);
      seepage = lag(seepage, seepageTarget, dt, surge ? 10 * MINUTE : 3 * HOUR);
      return {
        metrics: {
          pond_level: quantise(level + rng.gaussian(0.005), 0.01),
          dry_beach_length: quantise(baseBeach - (baseBeach - 90) * (baseBeach > 90 ? pond : 0) + rng.gaussian(0.3), 0.1),
          freeboard: quantise(crest - level + rng.gaussian(0.005), 0.01),
          rainfall: quantise(tipped, 0.2),
          seepage_flow: quantise(seepage + rng.gaussian(0.05), 0.01),
        },
      };
    },
  };
}
