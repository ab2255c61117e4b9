import { describe, expect, it } from 'vitest';
import { createRng } from '../../random/prng.js';
import { HOUR, MINUTE } from '../../time/duration.js';
import { powerModel } from './power-model.js';

/** Monday 2026-11-23 00:00 UTC. */
const START = Date.UTC(2026, 10, 23);
const PLANT = { declared_status: 'producing', p_idle_kw: 40, p_prod_kw: 400, contracted_kw: 630 };

/** The meter's reports every `everyMs` for `forMs` from `from`. */
function reports(everyMs: number, forMs: number, attributes: Record<string, number | string> = PLANT, from = START) {
  const meter = powerModel.create({ rng: createRng(3), attributes, params: {}, start: from });
  const out: Array<{ t: number; power: number; energy: number }> = [];
  for (let t = from + everyMs; t <= from + forMs; t += everyMs) {
    const metrics = meter.read(t, [])?.metrics ?? {};
    out.push({ t, power: metrics.active_power as number, energy: metrics.energy as number });
  }
  return out;
}

describe('a power meter', () => {
  it('sends the energy of the interval it reports: average power × its length, whatever the interval', () => {
    for (const [everyMs, forMs] of [
      [15 * MINUTE, 24 * HOUR],
      [MINUTE, 4 * HOUR],
      [30_000, 2 * HOUR],
      [400, 10 * MINUTE],
    ] as const) {
      for (const { power, energy } of reports(everyMs, forMs)) {
        // the power is rounded to 0.1 kW, the energy to 1 Wh
        expect(Math.abs(energy - (power * everyMs) / HOUR), `every ${everyMs} ms`).toBeLessThanOrEqual((0.05 * everyMs) / HOUR + 0.0005);
      }
    }
  });

  it('runs its shifts on the local time of its site (utc_offset_h, as the night_running rule reads it)', () => {
    // 03:00 UTC: the night at a site on UTC, the morning shift at one on China Standard Time (+8 h)
    const at3Utc = (attributes: Record<string, number | string>) =>
      (reports(15 * MINUTE, 3 * HOUR, attributes).at(-1) as { power: number }).power;
    expect(at3Utc({ ...PLANT, utc_offset_h: 0 })).toBeLessThan(60);
    expect(at3Utc({ ...PLANT, utc_offset_h: 8 })).toBeGreaterThan(300);
    expect(at3Utc(PLANT)).toBeGreaterThan(300);
  });
});
