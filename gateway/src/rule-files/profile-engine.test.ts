import { describe, expect, it } from 'vitest';
import { PROFILES } from '../../../profiles/index.js';
import { profileKnowledge } from './profile-engine.js';

describe("the profiles' knowledge the backtest replays with", () => {
  it("gives a device its profile's default attributes, as the registry does, and refuses invalid ones naming the attribute", () => {
    const { attributesOf } = profileKnowledge(PROFILES);
    // the duct velocity and casting rules read these; without them a backtest never raised them
    expect(attributesOf('dust-collector', {})).toMatchObject({ min_duct_velocity_ms: 18 });
    expect(attributesOf('deep-well-casting', { arm_length_mm: 250 })).toMatchObject({ arm_length_mm: 250, level_tolerance_mm: 25 });
    expect(() => attributesOf('power', {})).toThrow(/attributes of a power device: p_prod_kw: /);
    expect(attributesOf('power', { p_prod_kw: 400 })).toMatchObject({ p_prod_kw: 400, p_idle_kw: 40, meter_interval_ms: 900_000 });
  });
});
