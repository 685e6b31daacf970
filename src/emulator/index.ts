// Public entry of the Databricks emulator.
export { buildEmulator } from './emulator.js'
export { startEmulator } from './start.js'
export type {
  Emulator,
  EmulatorAction,
  EmulatorEndpoint,
  EmulatorEndpointInfo,
  EmulatorOptions,
  EmulatorPrincipal,
  EmulatorTask,
  ErrorForm,
  RevokeFilter,
  RunningEmulator,
  StartEmulatorOptions
} from './types.js'
export type { ColdStartFault, DataPlaneFault, FaultController, FaultSpec, TokenFault } from './faults.js'
export type { EmulatorStats, InvocationSnapshot, StreamRecord, StreamState } from './stats.js'
