// The admin listener's fastify app: liveness, readiness (token health per endpoint), metrics.
import { createHash, timingSafeEqual } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Registry } from '../endpoints/registry.js'
import type { Metrics } from '../metrics/index.js'
import type { TokenBroker } from '../tokens/broker.js'
import { tokenReport, type TokenReport } from '../tokens/scope.js'
import type { StoreState } from '../store/store.js'

export interface AdminDeps {
  registry: Registry
  broker: TokenBroker
  metrics: Metrics
  /** How long /readyz waits for a token it does not hold yet. */
  readyTimeoutMs?: number
  /** True once a drain started: /readyz answers 503 `draining` at once. */
  draining?: () => boolean
  /** True while the start-up warm-up runs: /readyz answers 503 `warming up` until it ends. */
  warming?: () => boolean
  /** The shared store's state, when one is configured: shown in /readyz, never making it unready. */
  store?: (() => StoreState) | undefined
  /** admin.keySha256: when set, every route but the probes needs `Authorization: Bearer <key>`. */
  keySha256?: string | undefined
}

/** The probes stay open: a kubelet or load balancer has no key, and they reveal only up/down and why. */
const OPEN_PATHS = new Set(['/healthz', '/readyz'])

/**
 * True when `authorization` is `Bearer <key>` and sha256(key) is `keySha256` (hex). The digests
 * are compared in constant time, so the answer's timing says nothing of how much matched.
 */
export function adminKeyMatches (authorization: string | undefined, keySha256: string): boolean {
  const m = /^Bearer +(\S{1,4096})$/i.exec(authorization ?? '')
  const want = Buffer.from(keySha256, 'hex')
  // Whether a header was sent, and the digest's length (fixed by the schema), are not secrets.
  if (m === null || want.length !== 32) return false
  return timingSafeEqual(createHash('sha256').update(m[1] ?? '').digest(), want)
}

export interface EndpointReadiness {
  ready: boolean
  /** `refused`: the endpoint refused the held token (401/403) and no replacement was accepted yet. */
  token: 'valid' | 'stale' | 'none' | 'refused'
  expiresAt?: string
  refreshing: boolean
  lastError?: string
  retryAt?: string
}

export function buildAdmin (deps: AdminDeps): FastifyInstance {
  const app = Fastify({ logger: false })
  const readyTimeoutMs = deps.readyTimeoutMs ?? 2000
  const keySha256 = deps.keySha256
  if (keySha256 !== undefined) {
    app.addHook('onRequest', async (request, reply) => {
      if (OPEN_PATHS.has(request.url.split('?')[0] ?? '')) return
      if (adminKeyMatches(request.headers.authorization, keySha256)) return
      return await reply.code(401).header('www-authenticate', 'Bearer realm="routegate-admin"')
        .send({ error_code: 'UNAUTHENTICATED', message: 'this admin route needs Authorization: Bearer <admin key> (admin.keySha256)' })
    })
  }

  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
    if (deps.draining?.() === true) return await reply.code(503).send({ status: 'draining' })
    // Checked before any look-up: a probe during the warm-up must not wait on its fetches.
    if (deps.warming?.() === true) return await reply.code(503).send({ status: 'warming up' })
    const endpoints: Record<string, EndpointReadiness> = {}
    await Promise.all(deps.registry.names().map(async (name) => {
      endpoints[name] = await readiness(name)
    }))
    // One endpoint that cannot be served must not take every endpoint of every replica out of
    // the load balancer: ready while at least one can be served; the body says which cannot.
    const ready = Object.values(endpoints).some(e => e.ready)
    const body: Record<string, unknown> = { status: ready ? 'ready' : 'not ready', endpoints }
    if (deps.store !== undefined) body.store = deps.store()
    return await reply.code(ready ? 200 : 503).send(body)
  })

  /** "Holds a valid token or can get one": resolves and fetches, bounded, when nothing is held. */
  async function readiness (name: string): Promise<EndpointReadiness> {
    let route = deps.registry.peek(name)
    if (route === undefined) {
      const outcome = await within(deps.registry.resolve(name), readyTimeoutMs)
      if (!outcome.ok) return { ready: false, token: 'none', refreshing: false, lastError: describe(outcome.error) }
      route = outcome.value
    }
    if (deps.broker.status(route.token.key).state === 'none') await within(deps.broker.get(route.token), readyTimeoutMs)
    const s = deps.broker.status(route.token.key)
    // A token the endpoint refuses (the broker backing off fresh refusals) serves only 401/403s:
    // not a valid token, and not a servable endpoint, however long before it expires.
    const refused = s.state !== 'none' && deps.broker.isRefused(route.token)
    const r: EndpointReadiness = { ready: s.state !== 'none' && !refused, token: refused ? 'refused' : s.state, refreshing: s.refreshing }
    if (s.expiresAt !== undefined) r.expiresAt = new Date(s.expiresAt).toISOString()
    if (s.lastError !== undefined) r.lastError = s.lastError
    if (s.retryAt !== undefined) r.retryAt = new Date(s.retryAt).toISOString()
    return r
  }

  // What each endpoint's token is scoped to and when it expires (docs/operations.md "Health and readiness"); read-only:
  // never mints, never discovers, and never answers the token itself.
  app.get('/tokens', async () => ({ endpoints: deps.registry.names().map(reportOf) }))
  app.get<{ Params: { endpoint: string } }>('/tokens/:endpoint', async (request, reply) => {
    const name = request.params.endpoint
    if (deps.registry.endpoint(name) === undefined) {
      return await reply.code(404).send({ error_code: 'ENDPOINT_NOT_FOUND', message: `no endpoint '${name.slice(0, 64)}' in the running config` })
    }
    return reportOf(name)
  })

  function reportOf (name: string): TokenReport {
    const ep = deps.registry.endpoint(name)
    /* c8 ignore next - names come from the registry */
    if (ep === undefined) throw new Error(`unknown endpoint ${name}`)
    const route = deps.registry.peek(name)
    if (route === undefined) {
      // A discovered endpoint nobody has called yet: its id is not known, no token is held.
      return { endpoint: name, workspace: ep.workspace, endpointId: undefined, action: ep.action, discovered: true, scope: [], authorizationDetails: undefined, state: 'none', expiresAt: undefined }
    }
    return tokenReport(route, deps.broker.status(route.token.key))
  }

  app.get('/metrics', async (_request, reply) => {
    const text = await deps.metrics.registry.metrics()
    return reply.type(deps.metrics.registry.contentType).send(text)
  })

  return app
}

type Outcome<T> = { ok: true, value: T } | { ok: false, error: unknown }

/** Waits for `p` at most `ms`; a slow one counts as failed, and `p` carries on in the background. */
async function within<T> (p: Promise<T>, ms: number): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined
  const outcome = await Promise.race([
    p.then((value): Outcome<T> => ({ ok: true, value }), (error: unknown): Outcome<T> => ({ ok: false, error })),
    new Promise<Outcome<T>>(resolve => { timer = setTimeout(() => resolve({ ok: false, error: new Error('timed out') }), ms) })
  ])
  clearTimeout(timer)
  return outcome
}

/** A readiness reason: the error's code and message (coded errors never hold secrets). */
function describe (err: unknown): string {
  const e = err as { code?: string, message?: string }
  return e.code === undefined ? String(e.message ?? 'error') : `${e.code}: ${e.message ?? ''}`
}
