/** The simulators' public face: for the demo command, tests and benchmarks (nothing in the gateway depends on it). */

export type { ActiveEvent, DeviceModel, ModelDefinition, Report } from './models/device-model.js';
export { MODEL_PROFILES, MODELS } from './models/model-registry.js';
export { createRng, type Rng } from './random/prng.js';
export type { DeviceAction } from './run/action.js';
export { type DeviceRunSpec, deviceActions } from './run/device-run.js';
export { fleetDevices, type RegistryDevice } from './run/fleet-devices.js';
export { generateLoadDevices, type LoadDevice, type LoadDeviceOptions } from './run/load-devices.js';
export { type Fleet, type FleetOptions, type FleetStats, startFleet } from './run/start-fleet.js';
export type { Behaviour } from './scenario/behaviour-schema.js';
export { listScenarios, loadScenario, parseScenario, resolveScenarioPath, SCENARIOS_DIR, ScenarioError } from './scenario/load-scenario.js';
export type { ExpectedAlarm, Scenario, ScenarioDevice } from './scenario/scenario-schema.js';
