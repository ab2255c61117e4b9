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
