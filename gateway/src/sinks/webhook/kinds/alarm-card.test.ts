import { describe, expect, it } from 'vitest';
import type { Alarm, AlarmEvent, AlarmEventType } from '../../../../../rules/src/index.js';
import { HOPPER_ALARM } from '../../../../../test/support/hopper-alarm.js';
import { alarmCard, alarmLink, plainText, shanghaiTime, truncateUtf8 } from './alarm-card.js';

const ALARM: Alarm = { ...HOPPER_ALARM, id: 'alm_01JD7Q7M1V3N8B5QZ0K4XH2C9T', messageZh: '灰斗温度 85.25 °C，超过限值 80 °C' };

const eventOf = (type: AlarmEventType, alarm: Partial<Alarm> = {}): AlarmEvent => ({
  type,
  id: 'evt_01JD7Q9Z0000000000000000',
  timestamp: '2026-11-22T16:30:05.120Z',
  data: { alarm: { ...ALARM, ...alarm } },
});

const fieldsOf = (card: ReturnType<typeof alarmCard>): Record<string, string> =>
  Object.fromEntries(card.fields.map((f) => [f.label, f.value]));

describe('alarm card: what a group-robot message says about an alarm event', () => {
  it('shows the time on the clock in Asia/Shanghai (UTC+8, across midnight)', () => {
    expect(shanghaiTime('2026-11-22T08:00:03.120Z')).toBe('2026-11-22 16:00:03');
    expect(shanghaiTime('2026-11-22T16:30:05.120Z')).toBe('2026-11-23 00:30:05');
    expect(shanghaiTime('2026-06-30T23:59:59.999Z')).toBe('2026-07-01 07:59:59');
  });

  it('in Chinese: severity 红色, the event, messageZh, site, device, value and threshold with unit, rule, the change, time, id, link', () => {
    const card = alarmCard(eventOf('alarm.escalated'), { language: 'zh', consoleUrl: 'https://gw.example.cn/' });
    expect(card).toMatchObject({
      title: '【红色告警】site-a dc-01 告警升级',
      severityLabel: '红色告警',
      eventLabel: '告警升级',
      tone: 'alert',
      message: '灰斗温度 85.25 °C，超过限值 80 °C',
      link: { text: '查看告警详情', url: 'https://gw.example.cn/#/alarms/alm_01JD7Q7M1V3N8B5QZ0K4XH2C9T' },
    });
    expect(fieldsOf(card)).toEqual({
      站点: 'site-a',
      设备: 'dc-01',
      数值: '85.25 °C',
      阈值: '80 °C',
      规则: 'hopper_temp_high',
      级别变化: '橙色 → 红色',
      时间: '2026-11-23 00:30:05（北京时间）',
      告警编号: 'alm_01JD7Q7M1V3N8B5QZ0K4XH2C9T',
    });
    expect(card.fields.find((f) => f.label === '数值')?.emphasis).toBe(true);
  });

  it('in English: the alarm message and English labels', () => {
    const card = alarmCard(eventOf('alarm.raised', { severity: 'yellow', previousSeverity: null }), { language: 'en' });
    expect(card).toMatchObject({
      severityLabel: 'Yellow alarm',
      eventLabel: 'Raised',
      message: 'Hopper temperature 85.25 °C ≥ 80 °C',
      link: null,
    });
    expect(fieldsOf(card)).toMatchObject({ Site: 'site-a', Value: '85.25 °C', Time: '2026-11-23 00:30:05 (China Standard Time)' });
    expect(fieldsOf(card)).not.toHaveProperty('Severity');
  });

  it('an overdue or chased alarm’s card says by when it was due, how late, and whose it is', () => {
    // the deadline 23:59 Beijing time (15:59 UTC); the event at 00:30:05 — 31 minutes late
    const late = eventOf('alarm.overdue', { deadline: '2026-11-22T15:59:00.000Z', assignee: '张伟' });
    expect(fieldsOf(alarmCard(late, { language: 'zh' }))).toMatchObject({
      处置时限: '2026-11-22 23:59:00（北京时间）（已超时 31 分钟）',
      分派给: '张伟',
    });
    expect(fieldsOf(alarmCard(late, { language: 'en' }))).toMatchObject({
      'Due by': '2026-11-22 23:59:00 (China Standard Time) (31 min late)',
    });
    // on time (the overdue goes out at the deadline itself): no lateness; no deadline: no field
    const onTime = eventOf('alarm.overdue', { deadline: '2026-11-22T16:30:00.000Z' });
    expect(fieldsOf(alarmCard(onTime, { language: 'zh' })).处置时限).toBe('2026-11-23 00:30:00（北京时间）');
    expect(fieldsOf(alarmCard(eventOf('alarm.chased', { deadline: null }), { language: 'zh' }))).not.toHaveProperty('处置时限');
    expect(fieldsOf(alarmCard(eventOf('alarm.raised', { deadline: '2026-11-22T15:59:00.000Z' }), { language: 'zh' }))).not.toHaveProperty(
      '处置时限',
    );
  });

  it('each event type has its own words and tone; a clear or a disposal is calm, a raise or an overdue alarm is an alert', () => {
    const words = (type: AlarmEventType) => {
      const card = alarmCard(eventOf(type), { language: 'zh' });
      return [card.eventLabel, card.tone];
    };
    expect(words('alarm.raised')).toEqual(['告警产生', 'alert']);
    expect(words('alarm.cleared')).toEqual(['告警解除', 'calm']);
    // an alarm that ended says what it was, so a chat list does not show a red alarm for its clear
    expect(alarmCard(eventOf('alarm.cleared'), { language: 'zh' }).title).toMatch(/^【已解除·原红色】/);
    expect(alarmCard(eventOf('alarm.resolved'), { language: 'en' }).severityLabel).toBe('Ended · was red');
    expect(alarmCard(eventOf('alarm.acknowledged'), { language: 'zh' }).severityLabel).toBe('红色告警');
    // a site alarm's count of points in Chinese words, not "1 points"
    const site = alarmCard(eventOf('alarm.raised', { value: 3, threshold: 3, unit: 'points' }), { language: 'zh' });
    expect(site.fields.filter((f) => f.value.includes('测点')).map((f) => f.value)).toEqual(['3 个测点', '3 个测点']);
    expect(
      alarmCard(eventOf('alarm.raised', { value: 3, unit: 'points' }), { language: 'en' }).fields.some((f) => f.value === '3 points'),
    ).toBe(true);
    expect(words('alarm.resolved')).toEqual(['告警已处置', 'calm']);
    expect(words('alarm.overdue')).toEqual(['处置超时', 'alert']);
    expect(words('alarm.acknowledged')).toEqual(['告警已确认', 'info']);
  });

  it('an escalation step (alarm.chased) is an alert that says which step of which policy, why, whom it names and assigns', () => {
    const chase = {
      policy: 'red-unacknowledged',
      step: 2,
      condition: 'not_acknowledged' as const,
      dueAt: '2026-11-22T08:15:03.000Z',
      notify: { subscribers: ['manager'], users: ['张伟', 'li.na'] },
      assignee: '王丽',
    };
    const zh = alarmCard(eventOf('alarm.chased', { chase }), { language: 'zh' });
    expect([zh.eventLabel, zh.tone]).toEqual(['告警催办', 'alert']);
    expect(fieldsOf(zh)).toMatchObject({ 催办: '第 2 步（red-unacknowledged）：无人确认；通知 张伟、li.na；分派给 王丽' });
    const en = alarmCard(
      eventOf('alarm.chased', { chase: { ...chase, condition: 'overdue', notify: { subscribers: ['m'], users: [] } } }),
      {
        language: 'en',
      },
    );
    expect(fieldsOf(en)).toMatchObject({ Chase: 'step 2 of red-unacknowledged: overdue; assigned to 王丽' });
    // other events do not show the last step the alarm carries
    expect(fieldsOf(alarmCard(eventOf('alarm.acknowledged', { chase }), { language: 'zh' }))).not.toHaveProperty('催办');
  });

  it('names who acknowledged (and what they are doing), whom it is assigned to, who resolved it with the disposal record, who shelved it, why and until when', () => {
    const acknowledged = alarmCard(eventOf('alarm.acknowledged', { acknowledgedBy: '张伟', note: '已派人佩戴呼吸器进入现场排查' }), {
      language: 'zh',
    });
    expect(fieldsOf(acknowledged)).toMatchObject({ 操作人: '张伟', 说明: '已派人佩戴呼吸器进入现场排查' });
    expect(fieldsOf(alarmCard(eventOf('alarm.assigned', { assignee: '王丽' }), { language: 'zh' }))).toMatchObject({ 分派给: '王丽' });
    const disposal = { cause: '探头漂移', measures: '更换探头并复测', responsible: '王芳' };
    expect(fieldsOf(alarmCard(eventOf('alarm.resolved', { resolvedBy: '李娜', disposal }), { language: 'zh' }))).toMatchObject({
      操作人: '李娜',
      原因: '探头漂移',
      处置措施: '更换探头并复测',
      责任人: '王芳',
    });
    const shelf = { shelf: 'shf_1', scope: 'device' as const, reason: '检修除尘器', by: '赵敏', until: '2026-11-22T10:00:00.000Z' };
    expect(fieldsOf(alarmCard(eventOf('alarm.shelved', { shelved: shelf }), { language: 'zh' }))).toMatchObject({
      操作人: '赵敏',
      搁置原因: '检修除尘器',
      搁置至: '2026-11-22 18:00:00（北京时间）',
    });
    const resolved = alarmCard(eventOf('alarm.resolved', { resolvedBy: '李娜', note: '更换温度传感器\n已复测正常' }), { language: 'zh' });
    expect(fieldsOf(resolved)).toMatchObject({ 操作人: '李娜', 说明: '更换温度传感器 已复测正常' });
  });

  it('a silent device (no value, no threshold) and non-numeric values', () => {
    const silent = alarmCard(eventOf('alarm.raised', { value: null, threshold: null, unit: null }), { language: 'zh' });
    expect(fieldsOf(silent)).not.toHaveProperty('数值');
    expect(fieldsOf(silent)).not.toHaveProperty('阈值');
    const interlock = alarmCard(eventOf('alarm.raised', { value: true, threshold: null, unit: null }), { language: 'zh' });
    expect(fieldsOf(interlock)).toMatchObject({ 数值: '是' });
    const noisy = alarmCard(eventOf('alarm.raised', { value: 0.1 + 0.2, unit: 'MPa' }), { language: 'zh' });
    expect(fieldsOf(noisy)).toMatchObject({ 数值: '0.3 MPa' });
  });

  it('without messageZh, the Chinese card shows message', () => {
    const card = alarmCard(eventOf('alarm.raised', { messageZh: undefined }), { language: 'zh' });
    expect(card.message).toBe('Hopper temperature 85.25 °C ≥ 80 °C');
  });

  it('text from an alarm cannot open a tag, mention someone or break the layout', () => {
    expect(plainText('<font color="info">ok</font> <@all> [x](http://evil) **b**\r\nline')).toBe(
      '＜font color="info"＞ok＜/font＞ ＜@all＞ ［x］(http://evil) ＊＊b＊＊ line',
    );
    const card = alarmCard(eventOf('alarm.raised', { messageZh: '<@zhangwei> 温度高' }), { language: 'zh' });
    expect(card.message).not.toContain('<');
  });

  it('cuts long text at a character boundary, within the byte budget', () => {
    const cut = truncateUtf8('温度'.repeat(100), 50);
    expect(Buffer.byteLength(cut, 'utf8')).toBeLessThanOrEqual(50);
    expect(cut.endsWith('…')).toBe(true);
    expect(cut).toBe(`${'温度'.repeat(7)}温…`);
    expect(truncateUtf8('short', 50)).toBe('short');
  });

  it('links to the alarm with its id escaped', () => {
    expect(alarmLink('https://gw.example.cn/duty//', 'alm_a/b')).toBe('https://gw.example.cn/duty/#/alarms/alm_a%2Fb');
  });
});
