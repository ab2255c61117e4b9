import { describe, expect, it } from 'vitest';
import { recordingLogger } from '../../../test/helpers/recording-logger.js';
import { createOutageLog } from './outage-log.js';

describe('an outage logged once per key, and its end', () => {
  it('the first failure of a key is a warning; the others are counted into the line that says it is over', async () => {
    const { lines, log } = recordingLogger();
    let clock = 1_000;
    const outage = createOutageLog(log, { failed: 'write failed', restored: 'write restored' }, () => clock);
    outage.failed(new Error('down'), { site: 's1' }, 's1');
    outage.failed(new Error('down'), { site: 's1' }, 's1');
    outage.failed(new Error('down'), { site: 's2' }, 's2');
    clock = 5_000;
    outage.failed(new Error('down'), { site: 's1' }, 's1');
    outage.succeeded({ site: 's1' }, 's1');
    outage.succeeded({ site: 's1' }, 's1'); // not failing any more: nothing to say
    outage.failed(new Error('again'), { site: 's1' }, 's1'); // a new outage
    outage.forget('s2'); // s2 moved away: its outage is not this log's to end, and a later one is said again
    outage.failed(new Error('there'), { site: 's2' }, 's2');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((line) => [line.msg, line.site, line.failures, line.forMs])).toEqual([
      ['write failed', 's1', undefined, undefined],
      ['write failed', 's2', undefined, undefined],
      ['write restored', 's1', 3, 4_000],
      ['write failed', 's1', undefined, undefined],
      ['write failed', 's2', undefined, undefined],
    ]);
    expect(lines[0]?.err).toMatchObject({ message: 'down' });
    expect(lines[3]?.err).toMatchObject({ message: 'again' });
  });
});
