// Test-only admin API under /_emulator/: stats, streams, faults, revocation and reset over HTTP.
import type { FastifyInstance } from 'fastify'
import type { EmulatorContext } from '../context.js'
import type { FaultSpec } from '../faults.js'
import type { RevokeFilter } from '../types.js'
import { API_ERROR_CODES, apiErrorCodeFor, sendApiError } from '../errors.js'

export interface AdminActions {
  revoke: (filter?: RevokeFilter) => number
  reset: () => void
}

export function adminRoutes (ctx: EmulatorContext, actions: AdminActions) {
  return async function routegateEmulatorAdmin (app: FastifyInstance): Promise<void> {
    // Validation failures are TypeErrors from the controller; they are the caller's fault.
    app.setErrorHandler((err: { statusCode?: number, message: string }, _request, reply) => {
      if (err.statusCode === undefined) return sendApiError(reply, 400, API_ERROR_CODES.invalidParameterValue, err.message)
      return sendApiError(reply, err.statusCode, apiErrorCodeFor(err.statusCode), err.message)
    })

    app.get('/_emulator/stats', async () => ctx.stats.snapshot())
    // ?endpoint=name keeps one endpoint's rows.
    app.get<{ Querystring: { endpoint?: string } }>('/_emulator/inference-log', async request => ctx.inferenceLog.rows(request.query.endpoint))
    app.get('/_emulator/faults', async () => ctx.faults.list())
    app.post<{ Body: FaultSpec }>('/_emulator/faults', async (request, reply) => {
      ctx.faults.apply(request.body)
      return reply.code(200).send(ctx.faults.list())
    })
    app.delete('/_emulator/faults', async (_request, reply) => {
      ctx.faults.clear()
      return reply.code(204).send()
    })
    app.get('/_emulator/streams', async () => ctx.stats.streams())
    // ?waitMs=N waits up to N ms (at most 60 s) for the stream to end: tests in another process need no polling loop.
    app.get<{ Params: { requestId: string }, Querystring: { waitMs?: string } }>('/_emulator/streams/:requestId', async (request, reply) => {
      const { requestId } = request.params
      const waitMs = request.query.waitMs === undefined ? 0 : Number(request.query.waitMs)
      if (!Number.isFinite(waitMs) || waitMs < 0 || waitMs > 60_000) {
        return sendApiError(reply, 400, API_ERROR_CODES.invalidParameterValue, 'waitMs must be a number of milliseconds in 0..60000.')
      }
      const record = ctx.stats.stream(requestId)
      if (record === undefined) return sendApiError(reply, 404, API_ERROR_CODES.resourceDoesNotExist, `No stream ${requestId}.`)
      if (waitMs === 0 || record.state !== 'streaming') return record
      return await ctx.stats.streamEnded(requestId, waitMs).catch(() => ctx.stats.stream(requestId))
    })
    app.post<{ Body: RevokeFilter | undefined }>('/_emulator/revoke', async request => {
      return { revoked: actions.revoke(request.body ?? {}) }
    })
    app.post('/_emulator/reset', async (_request, reply) => {
      actions.reset()
      return reply.code(204).send()
    })
  }
}
