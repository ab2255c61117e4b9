import { confinedSpaceModel } from './confined-space/confined-space-model.js';
import { castingModel } from './deep-well-casting/casting-model.js';
import type { ModelDefinition } from './device-model.js';
import { dustCollectorModel } from './dust-collector/dust-collector-model.js';
import { mineSlopeModel } from './mine-slope/mine-slope-model.js';
import { powerModel } from './power/power-model.js';
import { tailingsModel } from './tailings-dam/tailings-model.js';

/** One device model per profile. Add a profile: one folder, one line here. */
export const MODELS: ReadonlyMap<string, ModelDefinition> = new Map(
  [dustCollectorModel, castingModel, confinedSpaceModel, mineSlopeModel, tailingsModel, powerModel].map((model) => [model.profile, model]),
);

export const MODEL_PROFILES = [...MODELS.keys()];
