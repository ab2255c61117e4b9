import { describe, expect, it } from 'vitest';
import { createSeqWindow, SEQ_WINDOW } from './seq-window.js';

describe('duplicate detection by seq', () => {
  it('drops a redelivery once, in or out of order, per device', () => {
    const window = createSeqWindow();
    expect(window.accept('a', 1, 1000)).toBe(true);
    expect(window.accept('a', 3, 3000)).toBe(true);
    expect(window.accept('a', 2, 2000)).toBe(true); // late, not a duplicate
    expect(window.accept('a', 3, 3000)).toBe(false);
    expect(window.accept('a', 1, 1000)).toBe(false);
    expect(window.accept('b', 1, 1000)).toBe(true);
  });

  it('accepts a restarted counter whose readings carry new times', () => {
    const window = createSeqWindow();
    window.accept('a', 0, 1000);
    expect(window.accept('a', 0, 9000)).toBe(true);
    expect(window.accept('a', 0, 9000)).toBe(false);
  });

  it('compares by seq alone when a reading has no device time', () => {
    const window = createSeqWindow();
    expect(window.accept('a', 5, null)).toBe(true);
    expect(window.accept('a', 5, null)).toBe(false);
  });

  it('remembers a bounded number of sequence numbers', () => {
    const window = createSeqWindow();
    for (let seq = 0; seq <= SEQ_WINDOW + 10; seq += 1) window.accept('a', seq, seq);
    expect(window.accept('a', 0, 0)).toBe(true); // forgotten
    expect(window.accept('a', SEQ_WINDOW + 10, SEQ_WINDOW + 10)).toBe(false);
  });
});

describe('duplicate detection: readings with and without a device time, the bound, its memory', () => {
  it('a repeated seq with a device time on one side only is a duplicate (compared by seq alone)', () => {
    const window = createSeqWindow();
    expect(window.accept('a', 5, null)).toBe(true);
    expect(window.accept('a', 5, 1000)).toBe(false);
    expect(window.accept('a', 6, 2000)).toBe(true);
    expect(window.accept('a', 6, null)).toBe(false);
  });

  it(`holds exactly ${SEQ_WINDOW} sequence numbers per device, forgetting the oldest first`, () => {
    const window = createSeqWindow();
    for (let seq = 0; seq <= SEQ_WINDOW; seq += 1) window.accept('a', seq, seq);
    // seq 0 was pushed out by the one past the bound; seq 1 is still held.
    expect(window.accept('a', 1, 1)).toBe(false);
    expect(window.accept('a', 0, 0)).toBe(true);
    expect(window.accept('b', 0, 0)).toBe(true);
  });

  it('remembers what it accepts, forgets what it drops, and starts from what was remembered', () => {
    const calls: string[] = [];
    const memory = {
      load: (): Array<[string, number, number | null]> => [
        ['a', 1, 1000],
        ['a', 2, null],
      ],
      remember: (device: string, seq: number, ts: number | null) => calls.push(`remember ${device} ${seq} ${ts}`),
      forget: (device: string, seq: number) => calls.push(`forget ${device} ${seq}`),
    };
    const window = createSeqWindow(memory);
    expect(window.accept('a', 1, 1000)).toBe(false);
    expect(window.accept('a', 2, 5000)).toBe(false);
    expect(window.accept('a', 1, 9000)).toBe(true);
    expect(calls).toEqual(['remember a 1 9000']);
    calls.length = 0;
    for (let seq = 3; seq <= SEQ_WINDOW + 1; seq += 1) window.accept('a', seq, seq);
    // 2 was loaded first, 1 came back later: 2 is the oldest.
    expect(calls.filter((c) => c.startsWith('forget'))).toEqual(['forget a 2']);
    expect(calls.at(-2)).toBe(`remember a ${SEQ_WINDOW + 1} ${SEQ_WINDOW + 1}`);
    expect(window.accept('a', 2, null)).toBe(true);
  });
});
