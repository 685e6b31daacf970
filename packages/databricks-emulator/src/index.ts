// Public entry of the Databricks emulator.
export { buildEmulator } from './emulator.js'
export { DEFAULT_TLS_DIR, startEmulator } from './start.js'
export { seededIdentities } from './random.js'
export type { SeededIdentities } from './random.js'
export { banner, parseEmulatorArgs, runEmulatorCli, UsageError, USAGE } from './cli.js'
export type { ParsedArgs } from './cli.js'
export { EMULATOR_ACTIONS, EMULATOR_TASKS } from './types.js'
export { ENDPOINT_NAME } from './endpoint-config.js'
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
  SseLineEnd,
  RevokeFilter,
  RunningEmulator,
  RunningTls,
  TlsListenerOptions,
  StartEmulatorOptions
} from './types.js'
export type { ColdStartFault, DataPlaneFault, FaultController, FaultSpec, TokenFault } from './faults.js'
export type { EmulatorStats, InvocationSnapshot, StreamRecord, StreamState } from './stats.js'
export type { InferenceRow } from './inference-log.js'
