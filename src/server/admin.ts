// The admin listener's fastify app: liveness, readiness (token health per endpoint), metrics.
import Fastify, { type FastifyInstance } from 'fastify'
import type { Registry } from '../endpoints/registry.js'
import type { Metrics } from '../metrics/index.js'
import type { TokenBroker } from '../tokens/broker.js'

export interface AdminDeps {
  registry: Registry
  broker: TokenBroker
  metrics: Metrics
  /** How long /readyz waits for a token it does not hold yet. */
  readyTimeoutMs?: number
}

export interface EndpointReadiness {
  ready: boolean
  token: 'valid' | 'stale' | 'none'
  expiresAt?: string
  refreshing: boolean
  lastError?: string
  retryAt?: string
}

export function buildAdmin (deps: AdminDeps): FastifyInstance {
  const app = Fastify({ logger: false })
  const readyTimeoutMs = deps.readyTimeoutMs ?? 2000

  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
    const endpoints: Record<string, EndpointReadiness> = {}
    await Promise.all(deps.registry.list().map(async (route) => {
      // "Holds a valid token or can get one": try to get one, bounded, when none is held.
      if (deps.broker.status(route.token.key).state === 'none') await within(deps.broker.get(route.token), readyTimeoutMs)
      const s = deps.broker.status(route.token.key)
      const r: EndpointReadiness = { ready: s.state !== 'none', token: s.state, refreshing: s.refreshing }
      if (s.expiresAt !== undefined) r.expiresAt = new Date(s.expiresAt).toISOString()
      if (s.lastError !== undefined) r.lastError = s.lastError
      if (s.retryAt !== undefined) r.retryAt = new Date(s.retryAt).toISOString()
      endpoints[route.name] = r
    }))
    const ready = Object.values(endpoints).every(e => e.ready)
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', endpoints })
  })

  app.get('/metrics', async (_request, reply) => {
    const text = await deps.metrics.registry.metrics()
    return reply.type(deps.metrics.registry.contentType).send(text)
  })

  return app
}

/** Waits for `p` at most `ms`; its outcome is not needed, only that it had a chance. */
async function within (p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    p.then(() => {}, () => {}),
    new Promise<void>(resolve => { timer = setTimeout(resolve, ms) })
  ])
  clearTimeout(timer)
}
