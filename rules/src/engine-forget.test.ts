import { describe, expect, it } from 'vitest';
import { harness } from '../test-support/harness.js';
import { SILENT_AND_HOT_RULES } from '../test-support/silent-and-hot.js';

const MIN = 60_000;

const rules = SILENT_AND_HOT_RULES;

describe('forgetting the sites another gateway node took (issue 16: one owner per site)', () => {
  it('a forgotten device never goes silent here and its pending delay never fires; the other site goes on', () => {
    const h = harness(rules);
    const elsewhere = { ...h.device, site: 'other', device: 'x' };
    h.engine.registerDevices([h.device, elsewhere], 0);
    h.engine.onReading({ site: 'other', device: 'x', profile: 'p', ts: MIN, receivedAt: MIN, metrics: { t: 70 } }, elsewhere);
    h.engine.forgetSites(['other']);
    const later = h.engine.tick(60 * MIN);
    expect(later.map((change) => change.key)).toEqual(['s/d/silent']);
    expect(h.engine.verdicts().some((v) => v.key.startsWith('other/'))).toBe(false);
  });

  it('the next takeChanged lists the forgotten devices (the store drops their state), once', () => {
    const h = harness(rules);
    const elsewhere = { ...h.device, site: 'other', device: 'x' };
    h.engine.registerDevices([h.device, elsewhere], 0);
    h.engine.takeChanged();
    h.engine.forgetSites(['other']);
    const changes = h.engine.takeChanged();
    expect(changes.forgotten).toEqual(['other/x']);
    expect(changes.devices).toEqual([]);
    expect(h.engine.takeChanged().forgotten).toBeUndefined();
    expect(h.engine.snapshot().devices.map((d) => `${d.context.site}/${d.context.device}`)).toEqual(['s/d']);
  });

  it('a site taken back starts afresh: its silence clock runs from the new registration', () => {
    const h = harness(rules);
    h.engine.registerDevices([h.device], 0);
    h.engine.forgetSites(['s']);
    expect(h.engine.registerDevices([h.device], 10 * MIN)).toEqual([]);
    expect(h.engine.tick(20 * MIN)).toEqual([]);
    expect(h.engine.tick(26 * MIN).map((change) => change.key)).toEqual(['s/d/silent']);
  });
});

describe('retiring devices taken out of the registry (or moved to another site) while the gateway was stopped', () => {
  const RULES_WITH_GROUP = `${rules}
  - id: site_hot
    kind: group
    members: { rules: [hot] }
    require: any
    severity: orange
    source: test
`;

  it('their alarms clear, their timers stop, their sites are judged again, and the store is told to drop them', () => {
    const h = harness(RULES_WITH_GROUP);
    const gone = { ...h.device, device: 'gone' };
    h.engine.registerDevices([h.device, gone], 0);
    h.engine.onReading({ site: 's', device: 'gone', profile: 'p', ts: MIN, receivedAt: MIN, metrics: { t: 70 } }, gone);
    expect(h.engine.tick(11 * MIN).map((change) => change.key)).toEqual(['s/gone/hot', 's/_site/site_hot']);
    const saved = h.engine.snapshot();

    const again = harness(RULES_WITH_GROUP);
    again.engine.restore(saved, 12 * MIN, 0);
    again.engine.takeChanged();
    const cleared = again.engine.retireDevices((key) => key === 's/d', 12 * MIN);
    expect(cleared.map((change) => [change.key, change.verdict.status])).toEqual([
      ['s/gone/hot', 'false'],
      ['s/_site/site_hot', 'false'],
    ]);
    expect(again.engine.takeChanged().forgotten).toEqual(['s/gone']);
    // the one still registered goes silent at 15 min as before; the retired one never
    expect(again.engine.tick(60 * MIN).map((change) => change.key)).toEqual(['s/d/silent']);
    expect(again.engine.verdicts().some((v) => v.key.startsWith('s/gone/'))).toBe(false);
    expect(again.engine.retireDevices(() => true, 61 * MIN)).toEqual([]);
  });
});
