import { describe, expect, it } from 'vitest';
import { createWriteBuffer } from './write-buffer.js';

describe('the lane write buffer', () => {
  it('runs a write at once outside a commit, collects those made while judging, and keeps collecting for a waiting commit', () => {
    const done: string[] = [];
    const buffer = createWriteBuffer();
    buffer.add(() => done.push('alone'));
    expect(done).toEqual(['alone']);

    buffer.collecting(() => {
      buffer.addLast(() => done.push('trim'));
      buffer.add(() => done.push('first'));
    });
    // the commit waits: a write made before the next one (between judging steps) must not run before those kept
    buffer.keep();
    buffer.add(() => done.push('between'));
    buffer.collecting(() => buffer.add(() => done.push('second')));
    expect(done).toEqual(['alone']);
    buffer.apply();
    expect(done).toEqual(['alone', 'first', 'between', 'second', 'trim']);

    // once applied, writes run at once again
    buffer.add(() => done.push('after'));
    expect(done.at(-1)).toBe('after');
    // a failed commit forgets what was kept, and stops keeping
    buffer.keep();
    buffer.add(() => done.push('lost'));
    buffer.clear();
    buffer.add(() => done.push('at once'));
    expect(done.slice(-1)).toEqual(['at once']);
    expect(done).not.toContain('lost');
  });
});
