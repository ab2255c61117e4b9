import { describe, expect, it } from 'vitest';
import type { MetricValue } from '../../rules/src/index.js';
import { deepWellCasting } from '../deep-well-casting/index.js';
import { dustCollector } from '../dust-collector/index.js';
import { PROFILES } from '../index.js';
import { mineSlope } from '../mine-slope/index.js';
import { toCanonical } from '../test-support/convert.js';
import {
  createHarness,
  DAY,
  HOUR,
  loadProfileRules,
  MINUTE,
  noise,
  randomSource,
  ruleSetProblems,
  SECOND,
  T0,
} from '../test-support/harness.js';
import { power, powerAttributes } from './index.js';

type Metrics = Record<string, MetricValue>;
const EVERY = 15 * MINUTE;
const MAIN = { p_prod_kw: 1000, p_idle_kw: 80, contracted_kw: 1500 };

const load = (kw: number): Metrics => ({ active_power: kw, energy: kw / 4 });

/** Every profile's rules: the site rules of the power profile look at devices of all of them. */
function site() {
  const h = createHarness([...PROFILES.values()]);
  const random = randomSource(51);
  return { h, random };
}

describe('power profile', () => {
  it('loads: its rule file parses and every name it reads exists, with the other profiles', () => {
    expect(ruleSetProblems([...PROFILES.values()])).toEqual([]);
  });

  it('a normal day: a plant producing 06–22 with its dust collector reporting, and a stopped plant at idle load, raise nothing', () => {
    const { h, random } = site();
    h.device({ site: 'a', device: 'meter-a', profile: power, attributes: MAIN });
    h.device({ site: 'a', device: 'dc-a', profile: dustCollector });
    h.device({ site: 'b', device: 'meter-b', profile: power, attributes: { ...MAIN, declared_status: 'stopped' } });
    for (let t = T0; t < T0 + DAY; t += 30 * SECOND) {
      h.advanceTo(t);
      const hour = (t - T0) / HOUR;
      const producing = hour >= 6 && hour < 22;
      if ((t - T0) % EVERY === 0) {
        h.send('meter-a', load(producing ? 900 + noise(random, 50) : 80 + noise(random, 10)));
        h.send('meter-b', load(80 + noise(random, 20)));
      }
      h.send('dc-a', { fan_running: producing, process_running: producing, diff_pressure: producing ? 1100 + noise(random, 100) : 5 });
    }
    h.advanceTo(T0 + DAY);
    expect(h.steps).toEqual([]);
  });

  it('declared stopped but above half the production load in 8 of the last 96 intervals is orange', () => {
    const { h, random } = site();
    h.device({ device: 'meter', profile: power, attributes: { ...MAIN, declared_status: 'rectification' } });
    // at night, 2 hours (8 intervals) of production load, otherwise idle
    const night = (t: number): boolean => t >= T0 + 2 * HOUR && t < T0 + 4 * HOUR;
    h.run('meter', T0 + 2 * DAY, EVERY, (t) => load(night(t) ? 700 : 80 + noise(random, 10)));
    // the 8th interval at 03:45; the first leaves the 24-h window (buckets of 30 min) at 02:00 the next day
    expect(h.timeline('declared_stopped_running', T0)).toEqual(['raised orange @3h45m', 'cleared orange @1d2h']);
  });

  it('a meter reporting every 5 min counts its readings as thirds of an interval: 2 h of production load is orange, 45 min is not', () => {
    const { h, random } = site();
    const fiveMinutes = { ...MAIN, declared_status: 'stopped', reportingIntervalMs: 5 * MINUTE };
    h.device({ device: 'two-hours', profile: power, attributes: fiveMinutes });
    h.device({ device: 'three-quarters', profile: power, attributes: fiveMinutes });
    const running = (from: number, minutes: number) => (t: number) => t >= T0 + from && t < T0 + from + minutes * MINUTE;
    const twoHours = running(2 * HOUR, 120);
    const threeQuarters = running(2 * HOUR, 45);
    h.run('two-hours', T0 + DAY, 5 * MINUTE, (t) => load(twoHours(t) ? 700 : 80 + noise(random, 10)));
    h.run('three-quarters', T0 + DAY, 5 * MINUTE, (t) => load(threeQuarters(t) ? 700 : 80 + noise(random, 10)));
    // the 24th reading of production load (120 minutes' worth) at 03:55
    expect(h.timeline('declared_stopped_running', T0).filter((step) => step.startsWith('raised'))).toEqual(['raised orange @3h55m']);
    expect(h.stepsOf('declared_stopped_running').map((step) => step.device)).toEqual(['two-hours']);
  });

  it('7 of 96 intervals, or a plant declared producing, is not "secretly running"', () => {
    const { h, random } = site();
    h.device({ device: 'stopped', profile: power, attributes: { ...MAIN, declared_status: 'stopped' } });
    h.device({ device: 'producing', profile: power, attributes: MAIN });
    h.run('stopped', T0 + DAY, EVERY, (t) => load(t >= T0 + 2 * HOUR && t < T0 + 3 * HOUR + 45 * MINUTE ? 700 : 80 + noise(random, 10)));
    h.run('producing', T0 + 2 * DAY, EVERY, () => load(700));
    expect(h.stepsOf('declared_stopped_running')).toEqual([]);
  });

  it('night running is judged by the clock at the hour boundary: raised at 22:00 and cleared at 06:00 sharp, between readings', () => {
    const { h } = site();
    h.device({ device: 'stopped', profile: power, attributes: { ...MAIN, declared_status: 'stopped' } });
    // a meter whose 15-min readings fall at :07, :22, :37 and :52; it keeps drawing production load all night
    for (let t = T0 + 7 * MINUTE; t < T0 + DAY; t += EVERY) h.send('stopped', load(700), t);
    h.advanceTo(T0 + DAY);
    // T0 is 08:00 China Standard Time: 22:00 local is T0 + 14 h, 06:00 local T0 + 22 h (not 22:07 and 06:07)
    expect(h.timeline('night_running', T0, 'stopped')).toEqual(['raised yellow @14h', 'cleared yellow @22h']);
  });

  it('night running: declared stopped and above half the production load between 22:00 and 06:00 local time is yellow', () => {
    const { h } = site();
    // T0 is 08:00 China Standard Time: 22:00 local is T0 + 14 h, 06:00 local T0 + 22 h
    h.device({ device: 'stopped', profile: power, attributes: { ...MAIN, declared_status: 'stopped' } });
    h.device({ device: 'producing', profile: power, attributes: MAIN });
    h.device({ device: 'utc', profile: power, attributes: { ...MAIN, declared_status: 'stopped', utc_offset_h: 0 } });
    for (let t = T0; t < T0 + DAY + 8 * HOUR; t += EVERY) {
      h.advanceTo(t);
      if (t < T0 + DAY) h.send('stopped', load(700));
      h.send('producing', load(700));
      h.send('utc', load(t >= T0 + 20 * HOUR ? 700 : 80));
    }
    expect(h.timeline('night_running', T0, 'stopped')).toEqual(['raised yellow @14h', 'cleared yellow @22h']);
    expect(h.stepsOf('night_running', 'producing')).toEqual([]);
    // a site at UTC+0: its night starts at T0 + 22 h (the load above half production from 20:00 UTC)
    expect(h.timeline('night_running', T0, 'utc')).toEqual(['raised yellow @22h', 'cleared yellow @1d6h']);
    expect(h.active('night_running', 'stopped')).toBeUndefined();
    expect(loadProfileRules(power).rules.find((r) => r.id === 'night_running')?.enabled).toBe(true);
  });

  it('night running: load at night below half the production load is not', () => {
    const { h } = site();
    h.device({ device: 'meter', profile: power, attributes: { ...MAIN, declared_status: 'rectification' } });
    h.run('meter', T0 + DAY, EVERY, () => load(450));
    expect(h.stepsOf('night_running')).toEqual([]);
  });

  it('load at 90 % of the contracted capacity is yellow', () => {
    const { h } = site();
    h.device({ device: 'meter', profile: power, attributes: MAIN });
    h.run('meter', T0 + 2 * HOUR, EVERY, (t) => load(t >= T0 + HOUR ? 1380 : 900));
    h.run('meter', T0 + 3 * HOUR, EVERY, () => load(1200));
    expect(h.timeline('over_capacity', T0)).toEqual(['raised yellow @1h', 'cleared yellow @2h']);
  });

  it('a frozen meter: readings exactly constant for 2 h above the idle load are yellow; a moving load and the idle load are not', () => {
    const { h, random } = site();
    h.device({ device: 'meter', profile: power, attributes: MAIN });
    // production with its noise for 2 h, then the register frozen at its last reading for 3 h
    h.run('meter', T0 + 2 * HOUR, EVERY, () => load(900 + noise(random, 30)));
    h.run('meter', T0 + 5 * HOUR, EVERY, () => load(912.5));
    expect(h.timeline('active_power_stuck', T0)).toEqual(['raised yellow @4h']);
    expect(h.timeline('energy_stuck', T0)).toEqual(['raised yellow @4h']);
    // a stopped plant reading the same idle load all night is not a frozen meter
    const idle = site();
    idle.h.device({ device: 'meter', profile: power, attributes: MAIN });
    idle.h.run('meter', T0 + 12 * HOUR, EVERY, () => load(60));
    expect(idle.h.steps).toEqual([]);
  });

  it('faked offline: every safety monitor of the site silent (past 3 of its intervals) 15 min while the meter shows production is orange', () => {
    const { h, random } = site();
    h.device({ device: 'meter', profile: power, attributes: MAIN });
    h.device({ device: 'dc-1', profile: dustCollector });
    h.device({ device: 'caster-1', profile: deepWellCasting });
    h.send('meter', load(900), T0);
    h.send('dc-1', { fan_running: true, diff_pressure: 1100 });
    // the caster goes quiet at once, the collector 10 min later
    h.send('dc-1', { fan_running: true, diff_pressure: 1150 }, T0 + 10 * MINUTE);
    h.run('meter', T0 + 2 * HOUR, EVERY, () => load(900 + noise(random, 30)));
    h.send('dc-1', { fan_running: true, diff_pressure: 1120 });
    // the collector silent past 3 of its intervals (60 s, its profile's slowest cadence) at 13 min, the caster long
    // before: both silent for 15 min at 28 min
    expect(h.timeline('faked_offline', T0)).toEqual(['raised orange @28m', 'cleared orange @2h']);
    expect(h.stepsOf('faked_offline')[0]?.device).toBe('_site');
    expect(h.open('faked_offline')?.messageZh).toBe('已解除：虚假离线：厂区安全监测全部无数据（dc-1、caster-1），而电表显示生产负荷');
    expect(h.stepsOf('monitors_silent_plant_stopped')).toEqual([]);
  });

  it('faked offline at a mine: a slope monitor reporting every 30 min counts once 3 reports are missed, then 15 min', () => {
    const { h, random } = site();
    h.device({ device: 'meter', profile: power, attributes: MAIN });
    h.device({ device: 'gnss-1', profile: mineSlope });
    for (let t = T0; t <= T0 + 8 * HOUR; t += EVERY) {
      h.advanceTo(t);
      h.send('meter', load(900 + noise(random, 30)));
      // half-hourly solutions until 2 h 30 min, then nothing
      if (t <= T0 + 150 * MINUTE && (t - T0) % (30 * MINUTE) === 0)
        h.send('gnss-1', { disp_east: 10 + noise(random, 3), disp_north: 5 + noise(random, 3), disp_up: -2 + noise(random, 6) });
    }
    // silent from 2 h 30 min + 3 × 30 min, faked offline 15 min later: not after the slope's own 6-h orange step
    expect(h.timeline('device_silent', T0, 'gnss-1')).toEqual(['raised yellow @4h']);
    expect(h.timeline('faked_offline', T0)).toEqual(['raised orange @4h15m']);
  });

  it('the same silence while the meter shows the plant stopped is only a blue notice', () => {
    const { h, random } = site();
    h.device({ device: 'meter', profile: power, attributes: MAIN });
    h.device({ device: 'dc-1', profile: dustCollector });
    h.device({ device: 'caster-1', profile: deepWellCasting });
    h.send('meter', load(80), T0);
    h.send('dc-1', { fan_running: false, diff_pressure: 3 }, T0 + 10 * MINUTE);
    h.run('meter', T0 + 2 * HOUR, EVERY, () => load(80 + noise(random, 10)));
    expect(h.timeline('monitors_silent_plant_stopped', T0)).toEqual(['raised blue @28m']);
    expect(h.stepsOf('faked_offline')).toEqual([]);
    // the plant starts while the monitors are still silent: the lower case gives way to faked offline once they have
    // stayed silent 15 min into production (a morning start-up's monitors connect within minutes of the load)
    h.run('meter', T0 + 3 * HOUR, EVERY, () => load(900));
    expect(h.timeline('faked_offline', T0)).toEqual(['raised orange @2h15m']);
    expect(h.timeline('monitors_silent_plant_stopped', T0)).toEqual(['raised blue @28m', 'cleared blue @2h']);
  });

  it('one silent monitor among live ones is not faked offline (its own silence rule speaks)', () => {
    const { h, random } = site();
    h.device({ device: 'meter', profile: power, attributes: MAIN });
    h.device({ device: 'dc-1', profile: dustCollector });
    h.device({ device: 'caster-1', profile: deepWellCasting });
    for (let t = T0; t < T0 + 2 * HOUR; t += 30 * SECOND) {
      h.advanceTo(t);
      if ((t - T0) % EVERY === 0) h.send('meter', load(900 + noise(random, 30)));
      h.send('dc-1', { fan_running: true, diff_pressure: 1100 + noise(random, 50) });
    }
    expect(h.stepsOf('faked_offline')).toEqual([]);
    expect(h.active('device_silent', 'caster-1')?.severity).toBe('orange');
  });

  it('safety equipment off while a production line draws load is red; the line stopping clears it', () => {
    const { h } = site();
    h.device({ device: 'main', profile: power, attributes: MAIN });
    h.device({ device: 'line-1', profile: power, attributes: { meter_role: 'production', p_prod_kw: 600 } });
    h.device({ device: 'fan-1', profile: power, attributes: { meter_role: 'safety', p_prod_kw: 45 } });
    const at = (t: number) => {
      h.send('main', load(900), t);
      h.send('line-1', load(t < T0 + 2 * HOUR ? 550 : 30));
      h.send('fan-1', load(t < T0 + HOUR ? 44 : 1.5));
    };
    for (let t = T0; t < T0 + 90 * MINUTE; t += EVERY) at(t);
    // which sub-meter, in both languages (a WeCom card shows messageZh)
    expect(h.active('safety_equipment_off_while_producing')).toMatchObject({
      message: 'A production line draws load while a safety-equipment sub-meter (dust-collector fan, cooling pump) reads ≈ 0: fan-1',
      messageZh: '生产线有生产负荷，而安全设备分表（除尘风机、冷却水泵）读数约为 0：fan-1',
    });
    for (let t = T0 + 90 * MINUTE; t < T0 + 3 * HOUR; t += EVERY) at(t);
    expect(h.timeline('safety_equipment_off_while_producing', T0)).toEqual(['raised red @1h', 'cleared red @2h']);
    // the sub-meter off is no alarm of its own: the red site alarm names it, and off at night is nothing to handle
    expect(h.stepsOf('safety_load_off')).toEqual([]);
    expect(h.engine.verdicts()).toContainEqual({ key: 'site-a/fan-1/safety_load_off', status: 'true', severity: 'blue' });
  });

  it('a silent meter is yellow after 3 intervals, orange after 2 h, red after 24 h', () => {
    const { h } = site();
    h.device({ device: 'meter', profile: power, attributes: MAIN });
    h.send('meter', load(900), T0);
    h.advanceTo(T0 + 2 * DAY);
    expect(h.timeline('device_silent', T0)).toEqual(['raised yellow @45m', 'escalated orange @2h', 'escalated red @1d']);
  });
});

describe('power attributes and units', () => {
  it('requires the production load, defaults the idle load and checks the baselines are ordered', () => {
    expect(powerAttributes.parse({ p_prod_kw: 500 })).toEqual({
      declared_status: 'producing',
      meter_role: 'main',
      p_prod_kw: 500,
      p_idle_kw: 50,
      utc_offset_h: 8,
      meter_interval_ms: 900_000,
    });
    // a 5-min meter counts its readings as 5 minutes each; its reportingIntervalMs is its own (silence)
    expect(powerAttributes.parse({ p_prod_kw: 500, reportingIntervalMs: 300_000 })).toMatchObject({
      reportingIntervalMs: 300_000,
      meter_interval_ms: 300_000,
    });
    // validated again (a registry merged with its device files), the same
    const once = powerAttributes.parse({ p_prod_kw: 500, reportingIntervalMs: 300_000 });
    expect(powerAttributes.parse(once)).toEqual(once);
    expect(powerAttributes.parse(powerAttributes.parse({ p_prod_kw: 500 }))).toEqual(powerAttributes.parse({ p_prod_kw: 500 }));
    expect(powerAttributes.parse({ p_prod_kw: 500, utc_offset_h: 5.5 }).utc_offset_h).toBe(5.5);
    for (const utc_offset_h of [15, -13, 5.3, '+08:00'])
      expect(powerAttributes.safeParse({ p_prod_kw: 500, utc_offset_h }).success).toBe(false);
    expect(powerAttributes.safeParse({}).success).toBe(false);
    expect(powerAttributes.safeParse({ p_prod_kw: 500, p_idle_kw: 600 }).success).toBe(false);
    expect(powerAttributes.safeParse({ p_prod_kw: 500, contracted_kw: 400 }).success).toBe(false);
    expect(powerAttributes.safeParse({ p_prod_kw: 500, declared_status: 'closed' }).success).toBe(false);
  });

  it('converts the units meters send', () => {
    expect(toCanonical(power, 'active_power', 'W', 12_500)).toBeCloseTo(12.5);
    expect(toCanonical(power, 'active_power', 'MW', 1.2)).toBeCloseTo(1200);
    expect(toCanonical(power, 'energy', 'MWh', 0.25)).toBeCloseTo(250);
    expect(toCanonical(power, 'energy', 'Wh', 500)).toBeCloseTo(0.5);
    expect(toCanonical(power, 'energy', 'MJ', 36)).toBeCloseTo(10);
  });
});
