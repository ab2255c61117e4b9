import { confinedSpace } from './confined-space/index.js';
import { deepWellCasting } from './deep-well-casting/index.js';
import { dustCollector } from './dust-collector/index.js';
import { mineSlope } from './mine-slope/index.js';
import { power } from './power/index.js';
import type { Profile } from './profile.js';
import { tailingsDam } from './tailings-dam/index.js';

export * from './metric-spec.js';
export type { Profile } from './profile.js';

/** Every profile the gateway knows, by id. Add a profile: one folder, one line here. */
export const PROFILES: ReadonlyMap<string, Profile> = new Map(
  [dustCollector, deepWellCasting, confinedSpace, mineSlope, tailingsDam, power].map((profile) => [profile.id, profile]),
);

export const PROFILE_IDS = [...PROFILES.keys()];
