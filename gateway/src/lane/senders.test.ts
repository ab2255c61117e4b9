import { describe, expect, it } from 'vitest';
import { createSenders } from './senders.js';

describe('which devices are sending (a lane commit waits only for others)', () => {
  it('a device sending alone has no one to wait for; a second device sending makes the first wait until it is in', () => {
    const senders = createSenders(20);
    senders.saw('dc-01', 0);
    expect(senders.othersSending(0)).toBe(false);
    senders.committed();
    senders.saw('dc-02', 5);
    // dc-01 sent 5 ms ago and has nothing in this commit
    expect(senders.othersSending(5)).toBe(true);
    senders.saw('dc-01', 7);
    expect(senders.othersSending(7)).toBe(false);
    senders.committed();
    senders.saw('dc-01', 9);
    expect(senders.othersSending(9)).toBe(true);
  });

  it('a device that stopped sending counts for the sending time after its last reading, not beyond', () => {
    const senders = createSenders(20);
    senders.saw('dc-02', 0);
    senders.saw('dc-02', 10);
    senders.committed();
    senders.saw('dc-01', 25);
    expect(senders.othersSending(25)).toBe(true);
    senders.committed();
    senders.saw('dc-01', 30);
    expect(senders.othersSending(30)).toBe(true);
    senders.committed();
    // dc-02's last reading was 20 ms before: a backlog sent, a device gone quiet
    senders.saw('dc-01', 31);
    expect(senders.othersSending(31)).toBe(false);
    senders.committed();
    // and it counts again as soon as it sends
    senders.saw('dc-02', 40);
    senders.committed();
    senders.saw('dc-01', 41);
    expect(senders.othersSending(41)).toBe(true);
  });

  it('counts each device once, however many readings it has in the commit', () => {
    const senders = createSenders(20);
    for (let n = 0; n < 50; n += 1) senders.saw('dc-01', n / 10);
    senders.saw('dc-02', 6);
    expect(senders.othersSending(6)).toBe(false);
    senders.committed();
    for (let n = 0; n < 50; n += 1) senders.saw('dc-02', 7 + n / 10);
    expect(senders.othersSending(12)).toBe(true);
  });
});
