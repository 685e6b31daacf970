// Public entry of the Databricks emulator.
export { buildEmulator } from './emulator.js'
export { startEmulator } from './start.js'
export { banner, parseEmulatorArgs, runEmulatorCli, UsageError, USAGE } from './cli.js'
export type { ParsedArgs } from './cli.js'
export { EMULATOR_ACTIONS, EMULATOR_TASKS } from './types.js'
export type {
  Emulator,
  EmulatorAction,
  EmulatorEndpoint,
  EmulatorEndpointInfo,
  EmulatorOptions,
  EmulatorPrincipal,
  FederationPolicy,
  EmulatorTask,
  ErrorForm,
  RevokeFilter,
  RunningEmulator,
  StartEmulatorOptions
} from './types.js'
export type { ColdStartFault, DataPlaneFault, FaultController, FaultSpec, TokenFault } from './faults.js'
export type { EmulatorStats, InvocationSnapshot, StreamRecord, StreamState } from './stats.js'
