import { describe, expect, it } from 'vitest';
import { validateConfig } from './load-config.js';

const quarantineOf = (quarantine?: unknown) => validateConfig(quarantine === undefined ? {} : { quarantine }, 'gateway.yaml').quarantine;
const problemsOf = (quarantine: unknown): string => {
  try {
    quarantineOf(quarantine);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the config to be refused');
};

describe('quarantine.size and quarantine.perDevice', () => {
  it('1000 in all and 100 per device by default; a share up to the whole is taken as given', () => {
    expect(quarantineOf()).toEqual({ size: 1_000, perDevice: 100 });
    expect(quarantineOf({})).toEqual({ size: 1_000, perDevice: 100 });
    expect(quarantineOf({ size: 5_000 })).toEqual({ size: 5_000, perDevice: 100 });
    expect(quarantineOf({ size: 300, perDevice: 20 })).toEqual({ size: 300, perDevice: 20 });
    expect(quarantineOf({ size: 300, perDevice: 300 })).toEqual({ size: 300, perDevice: 300 });
  });

  it('a quarantine smaller than the default share: without perDevice, one device may fill it', () => {
    expect(quarantineOf({ size: 5 })).toEqual({ size: 5, perDevice: 5 });
    expect(quarantineOf({ size: 100 })).toEqual({ size: 100, perDevice: 100 });
  });

  it('refuses a share larger than the whole, naming both keys, and a share that is not a positive whole number', () => {
    expect(problemsOf({ size: 50, perDevice: 51 })).toContain(
      "gateway.yaml: quarantine.perDevice: must be at most quarantine.size (50): quarantine.perDevice is one device's share of it (got 51)",
    );
    expect(problemsOf({ perDevice: 1_001 })).toContain('quarantine.perDevice: must be at most quarantine.size (1000)');
    expect(problemsOf({ perDevice: 0 })).toContain('quarantine.perDevice');
    expect(problemsOf({ perDevice: 2.5 })).toContain('quarantine.perDevice');
    expect(problemsOf({ size: 10, perDevic: 5 })).toContain('Unrecognized key: "perDevic"');
  });
});
