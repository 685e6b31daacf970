// The state one emulator's routes share: built once by buildEmulator, never module-level.
import type { FastifyRequest } from 'fastify'
import type { FaultController } from './faults.js'
import type { InferenceLog } from './inference-log.js'
import type { Lifecycle } from './lifecycle.js'
import type { StatsRecorder } from './stats.js'
import type { TokenStore } from './token-store.js'
import type { EmulatorEndpointInfo, EmulatorPrincipal, FederationPolicy } from './types.js'

export interface EmulatorContext {
  workspaceId: string
  endpoints: Record<string, EmulatorEndpointInfo>
  principals: EmulatorPrincipal[]
  federationPolicies: FederationPolicy[]
  tokenTtlSeconds: number
  dataPlaneTokenTtlSeconds: number
  streamIntervalMs: number
  defaultMaxTokens: number
  readyDelayMs: number
  now: () => number
  tokens: TokenStore
  stats: StatsRecorder
  inferenceLog: InferenceLog
  faults: FaultController
  lifecycle: Lifecycle
}

/** The origin the client used, so discovery documents point back at this listener. */
export function baseUrl (request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`
}

/** The route-optimized invocation URL of an endpoint as seen from `base`. */
export function dataPlaneUrl (base: string, workspaceId: string, name: string): string {
  return `${base}/${workspaceId}/serving-endpoints/${name}/invocations`
}

/** Looks an endpoint up by name without tripping over inherited keys like '__proto__'. */
export function endpointByName (ctx: EmulatorContext, name: string): EmulatorEndpointInfo | undefined {
  return Object.hasOwn(ctx.endpoints, name) ? ctx.endpoints[name] : undefined
}
