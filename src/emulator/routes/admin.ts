// Test-only admin API under /_emulator/: stats, faults, revocation and reset over HTTP.
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
    app.get('/_emulator/faults', async () => ctx.faults.list())
    app.post<{ Body: FaultSpec }>('/_emulator/faults', async (request, reply) => {
      ctx.faults.apply(request.body)
      return reply.code(200).send(ctx.faults.list())
    })
    app.delete('/_emulator/faults', async (_request, reply) => {
      ctx.faults.clear()
      return reply.code(204).send()
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
