import { describe, expect, it } from 'vitest';
import { recordingLogger } from '../../../test/helpers/recording-logger.js';
import { createFaultLog } from './fault-log.js';

/** A fault log writing to a debug-level logger whose lines the test reads. */
function faultLog() {
  const { log, lines } = recordingLogger<{ level: number; msg: string; device: string; err?: { message: string; stack?: string } }>(
    'debug',
  );
  return { log: createFaultLog(log), lines };
}

const ERROR = 50;
const DEBUG = 20;

describe('fault log: an error thrown while judging a payload', () => {
  it('is the payload’s `internal` rejection, naming the error', () => {
    const { log } = faultLog();
    expect(log.rejection(new RangeError('index 9 out of range'), 'dc-01')).toEqual({
      reason: 'internal',
      detail: 'the gateway failed while judging this payload (RangeError: index 9 out of range); it is kept here and was not stored',
    });
    expect(log.rejection('a string thrown', 'dc-01').detail).toBe(
      'the gateway failed while judging this payload (a string thrown); it is kept here and was not stored',
    );
  });

  it('is logged as an error with its stack once; the same fault again (a device resending) at debug', () => {
    const { log, lines } = faultLog();
    log.rejection(new TypeError('boom'), 'dc-01');
    log.rejection(new TypeError('boom'), 'dc-02');
    log.rejection(new TypeError('other'), 'dc-01');
    expect(lines.map((l) => [l.level, l.msg, l.device, l.err?.message])).toEqual([
      [ERROR, 'payload judgement failed', 'dc-01', 'boom'],
      [DEBUG, 'payload judgement failed', 'dc-02', 'boom'],
      [ERROR, 'payload judgement failed', 'dc-01', 'other'],
    ]);
    expect(lines[0]?.err?.stack).toMatch(/^TypeError: boom\n\s+at /);
  });

  it('remembers 100 distinct faults: the 101st is logged at debug, the first 100 still once', () => {
    const { log, lines } = faultLog();
    for (let i = 1; i <= 101; i += 1) log.rejection(new Error(`fault ${i}`), 'dc-01');
    log.rejection(new Error('fault 1'), 'dc-01');
    expect(lines.filter((l) => l.level === ERROR)).toHaveLength(100);
    expect(lines.slice(-2).map((l) => [l.level, l.err?.message])).toEqual([
      [DEBUG, 'fault 101'],
      [DEBUG, 'fault 1'],
    ]);
  });
});
