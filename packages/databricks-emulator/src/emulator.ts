// buildEmulator: the Databricks workspace + route-optimized data-plane emulator as an un-listened fastify app.
import Fastify from 'fastify'
import type { FastifyServerOptions } from 'fastify'
import type { EmulatorContext } from './context.js'
import type { Emulator, EmulatorAction, EmulatorOptions, RevokeFilter } from './types.js'
import { OBJECT_PATH_PREFIX } from './authorization-details.js'
import { API_ERROR_CODES, apiErrorCodeFor, sendApiError, statusOf } from './errors.js'
import { FaultController } from './faults.js'
import { Lifecycle } from './lifecycle.js'
import { resolveOptions } from './options.js'
import { StatsRecorder } from './stats.js'
import { InferenceLog } from './inference-log.js'
import { TokenStore } from './token-store.js'
import { adminRoutes } from './routes/admin.js'
import { invocationRoutes } from './routes/invocations.js'
import { servingEndpointRoutes } from './routes/serving-endpoints.js'
import { tokenRoutes } from './routes/token.js'
import { wellKnownRoutes } from './routes/well-known.js'

export function buildEmulator (opts?: EmulatorOptions): Emulator {
  const options = resolveOptions(opts)
  const ctx: EmulatorContext = {
    workspaceId: options.workspaceId,
    endpoints: options.endpoints,
    principals: options.principals,
    federationPolicies: options.federationPolicies,
    tokenTtlSeconds: options.tokenTtlSeconds,
    dataPlaneTokenTtlSeconds: options.dataPlaneTokenTtlSeconds,
    streamIntervalMs: options.streamIntervalMs,
    defaultMaxTokens: options.defaultMaxTokens,
    readyDelayMs: options.readyDelayMs,
    now: options.now,
    tokens: new TokenStore({ now: options.now }),
    stats: new StatsRecorder(),
    inferenceLog: new InferenceLog(),
    faults: new FaultController(opts?.random),
    lifecycle: new Lifecycle()
  }

  const app = Fastify({
    ...loggerOption(options.logger),
    // Hung and streaming requests must not keep close() waiting.
    forceCloseConnections: true,
    // Undecodable URLs get a Databricks body too, not fastify's default.
    frameworkErrors: (err, _request, reply) => { sendApiError(reply, 400, API_ERROR_CODES.badRequest, err.message) }
  })
  app.addHook('preClose', async () => { ctx.lifecycle.close() })
  app.setNotFoundHandler((request, reply) =>
    sendApiError(reply, 404, API_ERROR_CODES.endpointNotFound, `No API found for '${request.method} ${request.url.replace(/\?.*$/s, '')}'`))
  app.setErrorHandler((err: { statusCode?: number, message: string }, _request, reply) => {
    const status = statusOf(err)
    return sendApiError(reply, status, apiErrorCodeFor(status), err.message)
  })

  const revoke = (filter: RevokeFilter = {}): number => {
    if (filter.endpoint === undefined) return ctx.tokens.revoke(() => true)
    const endpoint = Object.hasOwn(ctx.endpoints, filter.endpoint) ? ctx.endpoints[filter.endpoint] : undefined
    if (endpoint === undefined) throw new TypeError(`unknown endpoint ${filter.endpoint}`)
    const path = OBJECT_PATH_PREFIX + endpoint.id
    return ctx.tokens.revoke(r => r.authorizationDetails?.some(d => d.object_path === path) === true)
  }
  const reset = (): void => {
    ctx.stats.reset()
    ctx.inferenceLog.reset()
    ctx.faults.clear()
  }

  app.register(tokenRoutes(ctx))
  app.register(wellKnownRoutes(ctx))
  app.register(servingEndpointRoutes(ctx))
  app.register(invocationRoutes(ctx))
  app.register(adminRoutes(ctx, { revoke, reset }))

  return {
    app,
    workspaceId: ctx.workspaceId,
    endpoints: ctx.endpoints,
    principals: ctx.principals,
    faults: ctx.faults,
    stats: () => ctx.stats.snapshot(),
    inferenceLog: (endpoint?: string) => ctx.inferenceLog.rows(endpoint),
    mintsFor: (endpointName: string, action: EmulatorAction = 'query_inference_endpoint') => {
      const endpoint = Object.hasOwn(ctx.endpoints, endpointName) ? ctx.endpoints[endpointName] : undefined
      if (endpoint === undefined) return 0
      return ctx.stats.snapshot().mints.byScope[`${endpoint.id}:${action}`] ?? 0
    },
    revoke,
    reset,
    streams: () => ctx.stats.streams(),
    stream: (requestId: string) => ctx.stats.stream(requestId),
    streamEnded: (requestId?: string, timeoutMs?: number) => ctx.stats.streamEnded(requestId, timeoutMs)
  }
}

// fastify 5 takes a ready logger instance only as `loggerInstance`.
function loggerOption (logger: boolean | object): Pick<FastifyServerOptions, 'logger' | 'loggerInstance'> {
  const candidate = logger as { child?: unknown, info?: unknown }
  if (typeof logger === 'object' && typeof candidate.child === 'function' && typeof candidate.info === 'function') {
    return { loggerInstance: logger as FastifyServerOptions['loggerInstance'] }
  }
  return { logger: logger as FastifyServerOptions['logger'] }
}
