// Wires one routegate instance from a Config: broker, registry, pools, metrics and both apps.
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { Agent } from 'undici'
import { createAuthenticator, type Authenticator } from '../callers/identity.js'
import { createConcurrencyLimiter } from '../limits/concurrency.js'
import { createOverloadGuard } from '../limits/overload.js'
import { createGovernor } from '../limits/governor.js'
import { createLocalLimiter } from '../limits/local.js'
import { createStore, type Store } from '../store/store.js'
import { connectRedis } from '../store/redis.js'
import { randomUUID } from 'node:crypto'
import type { Config } from '../config/load.js'
import { createRegistry, type Registry } from '../endpoints/registry.js'
import { createMetrics, registerStateGauges, registerStoreGauge, type Metrics } from '../metrics/index.js'
import { CircuitBreaker } from '../proxy/breaker.js'
import { Pools } from '../proxy/pools.js'
import { TokenBroker } from '../tokens/broker.js'
import { DEFAULT_BACKOFF, type BackoffPolicy } from '../tokens/policy.js'
import { realTimers, type Timers } from '../time/timers.js'
import { buildAdmin } from './admin.js'
import { buildGateway, type GatewayDeps } from './gateway.js'
import { createExchanges } from './exchange.js'
import { createHandlers, type Handlers } from './handlers.js'
import { buildFeatures } from './features.js'
import { createShadowSender } from '../proxy/shadow.js'
import { createAccessLogger } from './logger.js'
import { createRecorder } from './record.js'
import { createForwarder } from '../proxy/forwarder.js'
import { createIdSource } from '../proxy/trace.js'
import { readFileSync } from 'node:fs'

export interface RoutegateOptions {
  config: Config
  logger: Logger
  /** Wall clock in ms since the epoch: token expiry, JWT times, Retry-After dates. */
  now?: () => number
  /** Monotonic clock in ms: rate limits and circuit breakers, immune to wall-clock jumps. Default performance.now. */
  monotonic?: () => number
  /**
   * What the token broker schedules on (mint spacing, fetch timeouts); default Node's. The
   * overload guard keeps the real ones: it measures the real event loop.
   */
  timers?: Timers
  random?: () => number
  backoff?: BackoffPolicy
  /** Node's default process metrics; on in production, off in tests that build many instances. */
  defaultMetrics?: boolean
  readyTimeoutMs?: number
  /** Shared store timing (tests shorten them): backoff after a failure, heartbeat period. */
  storeTiming?: { backoffMs?: number, heartbeatMs?: number }
}

export interface Routegate {
  gateway: FastifyInstance
  admin: FastifyInstance
  broker: TokenBroker
  registry: Registry
  metrics: Metrics
  pools: Pools
  /** The shared store, when store.redis is configured. */
  store: Store | undefined
  /**
   * Fetches every endpoint's token (a few at a time), so the first requests need not wait;
   * /readyz answers 503 `warming up` until it ends. Never rejects.
   */
  warm: () => Promise<void>
  /** Listens on the configured (or given) addresses; returns the base URLs. */
  listen: (addr?: { gateway?: { host: string, port: number }, admin?: { host: string, port: number } }) => Promise<{ gatewayUrl: string, adminUrl: string }>
  /**
   * Drains the gateway listener: /readyz answers 503 `draining` at once, no new connections,
   * idle keep-alive connections closed now and busy ones after their response. Resolves as soon
   * as nothing is in flight (streams included), or after `graceMs`, cutting what is left.
   */
  drain: (graceMs: number) => Promise<{ cut: number }>
  /**
   * Swaps in `config` for new requests, atomically: endpoints, callers, keys, limits and auth.
   * Throws (and changes nothing) when the new config cannot be built. Fields outside
   * workspaces/endpoints/callers/auth are reported in `needsRestart` and not applied.
   */
  reload: (config: Config) => ReloadResult
  /** Stops accepting, lets in-flight requests finish, then releases sockets and timers. */
  close: () => Promise<void>
}

interface Generation {
  config: Config
  registry: Registry
  breakers: ReadonlyMap<string, CircuitBreaker>
  authenticator: Authenticator
  handlers: Handlers
}

export interface ReloadResult {
  /** Fields that changed but need a restart to take effect (logged as warnings). */
  needsRestart: string[]
}

/** What a reload can change: everything else needs a restart. */
const RELOADABLE = new Set(['workspaces', 'endpoints', 'callers', 'auth'])

/** Endpoints whose tokens the start-up warm-up fetches at once. */
const WARM_UP_PARALLEL = 8

export function createRoutegate (opts: RoutegateOptions): Routegate {
  const { config, logger } = opts
  const now = opts.now ?? Date.now
  const monotonic = opts.monotonic ?? (() => performance.now())
  const timers = opts.timers ?? realTimers
  // Built in dependency order: each piece gets what it needs, nothing is patched in later.
  const metrics = createMetrics({
    endpoints: config.endpoints.map(e => e.name),
    workspaces: config.workspaces.map(w => w.name),
    defaultMetrics: opts.defaultMetrics ?? true
  })
  const broker = new TokenBroker({
    logger: logger.child({ component: 'tokens' }),
    now,
    monotonic,
    timers,
    random: opts.random,
    fetchTimeoutMs: config.tokens.fetchTimeoutMs,
    cacheSize: config.tokens.cacheSize,
    refreshJitterMs: config.tokens.refreshJitterMs,
    backoff: opts.backoff ?? {
      ...DEFAULT_BACKOFF,
      maxMs: config.tokens.backoffMaxMs,
      credentialMs: Math.min(DEFAULT_BACKOFF.credentialMs, config.tokens.credentialBackoffMaxMs),
      credentialMaxMs: config.tokens.credentialBackoffMaxMs
    },
    events: metrics.brokerEvents
  })
  const controlDispatcher = new Agent({ connections: 8, keepAliveTimeout: 30_000 })
  const pools = new Pools()
  const store = config.store === undefined ? undefined : openStore(config.store, opts, metrics, monotonic, logger)
  // Limits are read per request from the current generation's callers and endpoints, so a
  // reload applies them at once; bucket levels live here (or in the store) across reloads.
  const governor = createGovernor({
    store,
    local: createLocalLimiter(monotonic),
    count: (scope, decision) => { metrics.limitDecisions.inc({ scope, decision }) },
    lost: (reason) => { logger.debug({ reason }, 'token usage not reconciled in the store') }
  })
  const concurrency = createConcurrencyLimiter()
  const overload = config.server.maxEventLoopDelayMs > 0 ? createOverloadGuard({ maxEventLoopDelayMs: config.server.maxEventLoopDelayMs }) : undefined
  const overloaded = overload === undefined ? () => false : () => overload.overloaded()

  /**
   * Everything that follows from the workspaces, endpoints, callers and auth of one config: a
   * reload builds a new generation and swaps it in whole; in-flight requests finish on theirs.
   * The broker (tokens), pools, limiters and metrics are shared, so unchanged keys keep their
   * tokens and unchanged origins their connections.
   */
  function generation (cfg: Config, previous?: Generation): Generation {
    // Only the reloadable sections come from `cfg`; server.* and tokens.* stay as started.
    const registry = createRegistry(cfg, {
      broker,
      controlDispatcher,
      fetchTimeoutMs: config.tokens.fetchTimeoutMs,
      now,
      onMissing: (ep, err) => { logger.warn({ endpoint: ep.name, remoteName: ep.remoteName, workspace: ep.workspace }, `${err.message}: check the endpoint's name (or remoteName) in the config`) }
    })
    const unchanged = (e: Config['endpoints'][number]): boolean => {
      const before = previous?.config.endpoints.find(p => p.name === e.name)
      return before !== undefined && JSON.stringify(before) === JSON.stringify(e)
    }
    // An unchanged endpoint keeps its breaker: a reload must not close an open circuit.
    const breakers = new Map(cfg.endpoints.map(e => [e.name, (unchanged(e) ? previous?.breakers.get(e.name) : undefined) ?? new CircuitBreaker({
      failures: e.breakerFailures,
      openMs: e.breakerOpenMs,
      now: monotonic,
      onChange: (state) => { logger.warn({ endpoint: e.name, circuit: state }, `circuit ${state}`) }
    })]))
    const authenticator = createAuthenticator({ callers: cfg.callers, jwt: cfg.auth.jwt, now, log: logger })
    const forwarder = createForwarder({
      pools,
      tokens: broker,
      routes: registry,
      breakerFor: (name) => breakers.get(name) as CircuitBreaker,
      replayBufferBytes: config.server.replayBufferBytes,
      debug: (fields, msg) => { logger.debug(fields, msg) }
    })
    const features = buildFeatures(cfg.endpoints, { now: monotonic, random: opts.random })
    for (const e of cfg.endpoints) metrics.showFeatures(e.name, { cache: e.cache !== undefined, shadow: e.shadow !== undefined, hedge: e.hedge !== undefined, fallback: e.fallback })
    const handlers = createHandlers({
      features: (name) => features.get(name),
      shadows: createShadowSender({ pools, tokens: broker, routes: registry, now: monotonic }),
      endpoint: (name) => registry.endpoint(name),
      names: () => registry.names(),
      loadedAt: now(),
      // Bound once per generation: no extra promise per request.
      authenticate: authenticator.authenticate.bind(authenticator),
      governor,
      concurrency,
      forwarder,
      metrics,
      trustProxy: config.server.trustProxy,
      openaiBodyLimitBytes: config.server.openaiBodyLimitBytes,
      tls: config.server.tls !== undefined,
      logger
    })
    return { config: cfg, registry, breakers, authenticator, handlers }
  }
  let current = generation(config)
  // What the shared parts (admin, gauges, the listener) see: always the current generation.
  const registry: Registry = {
    endpoint: (name) => current.registry.endpoint(name),
    names: () => current.registry.names(),
    resolve: async (name) => await current.registry.resolve(name),
    peek: (name) => current.registry.peek(name),
    evict: (name) => { current.registry.evict(name) },
    workspaceToken: (name) => current.registry.workspaceToken(name)
  }
  const endpointReady = (name: string): boolean => {
    const route = registry.peek(name)
    return route !== undefined && broker.status(route.token.key).state !== 'none'
  }
  registerStateGauges(metrics, {
    endpoints: () => registry.names(),
    circuitOpen: (name) => current.breakers.get(name)?.failingFast === true,
    // What /readyz would answer, without fetching: not draining, warmed up, one endpoint servable.
    ready: () => !draining && !warming && registry.names().some(endpointReady),
    endpointReady,
    poolStats: (name) => {
      const route = registry.peek(name)
      return route === undefined ? undefined : pools.stats(route.poolKey)
    }
  })
  // The listener always calls the current generation's handlers.
  const handlers: Handlers = {
    label: (ex, name) => { current.handlers.label(ex, name) },
    invocation: (ex, name) => { current.handlers.invocation(ex, name) },
    openai: (ex, route) => { current.handlers.openai(ex, route) },
    models: (ex) => { current.handlers.models(ex) }
  }
  const accessLog = createAccessLogger(logger)
  const exchanges = createExchanges({
    traceMode: config.tracing.mode,
    ids: createIdSource(),
    record: createRecorder({ metrics, accessLog, trustProxy: config.server.trustProxy })
  })
  const gateway = buildGateway({
    logger,
    metrics,
    exchanges,
    handlers,
    overloaded,
    limits: config.server,
    https: tlsOptions(config)
  })
  let draining = false
  let warming = false
  const admin = buildAdmin({
    registry,
    broker,
    metrics,
    readyTimeoutMs: opts.readyTimeoutMs,
    draining: () => draining,
    warming: () => warming,
    store: store === undefined ? undefined : () => store.state(),
    keySha256: config.admin.keySha256
  })

  return {
    gateway,
    admin,
    broker,
    get registry () { return current.registry },
    metrics,
    pools,
    store,
    async warm () {
      warming = true
      try {
        const names = registry.names()
        let next = 0
        const worker = async (): Promise<void> => {
          while (next < names.length) {
            const name = names[next++] as string
            await registry.resolve(name).then(route => broker.get(route.token)).catch(() => {})
          }
        }
        await Promise.all(Array.from({ length: Math.min(WARM_UP_PARALLEL, names.length) }, worker))
      } finally {
        warming = false
      }
    },
    async listen (addr = {}) {
      const g = addr.gateway ?? config.server
      const a = addr.admin ?? config.admin
      await listenAs(gateway, g.host, g.port, 'server')
      await listenAs(admin, a.host, a.port, 'admin')
      return { gatewayUrl: baseUrl(gateway, g.host, config.server.tls !== undefined), adminUrl: baseUrl(admin, a.host) }
    },
    reload (next) {
      let built: Generation
      try {
        built = generation(next, current)
      } catch (err) {
        metrics.configReloads.inc({ result: 'failure' })
        throw err
      }
      const needsRestart = Object.keys(next).filter(k => !RELOADABLE.has(k) &&
        JSON.stringify((next as unknown as Record<string, unknown>)[k]) !== JSON.stringify((current.config as unknown as Record<string, unknown>)[k]))
      const previous = current
      current = built
      metrics.setEndpoints(next.endpoints.map(e => e.name))
      previous.authenticator.close()
      metrics.configReloads.inc({ result: 'success' })
      if (needsRestart.length > 0) logger.warn({ fields: needsRestart }, 'config reloaded; these fields need a restart to take effect')
      return { needsRestart }
    },
    async drain (graceMs) {
      draining = true
      const server = gateway.server
      // Every response from now on closes its connection; a connection whose response just
      // ended is idle, and closed on the next turn (Node counts it idle only then).
      exchanges.drain(() => { setImmediate(() => { server.closeIdleConnections() }) })
      server.close()
      server.closeIdleConnections()
      let timer: NodeJS.Timeout | undefined
      const finished = await Promise.race([
        exchanges.idle().then(() => true),
        new Promise<false>(resolve => { timer = setTimeout(() => resolve(false), graceMs) })
      ])
      clearTimeout(timer)
      const cut = finished ? 0 : exchanges.cutAll()
      server.closeAllConnections()
      if (!finished) await pools.destroy()
      return { cut }
    },
    async close () {
      await gateway.close()
      // The last requests' access lines, before the caller flushes the logger and exits.
      accessLog.flush()
      await admin.close()
      broker.close()
      await pools.close()
      await controlDispatcher.close()
      current.authenticator.close()
      overload?.close()
      await store?.close()
    }
  }
}

/** The shared store of store.redis, its metrics, and a log line when it turns down or up. */
function openStore (cfg: NonNullable<Config['store']>, opts: RoutegateOptions, metrics: Metrics, monotonic: () => number, logger: Logger): Store {
  const log = logger.child({ component: 'store' })
  const store = createStore({
    client: connectRedis({ url: cfg.redis.url.reveal(), timeoutMs: cfg.redis.timeoutMs }),
    keyPrefix: cfg.redis.keyPrefix,
    timeoutMs: cfg.redis.timeoutMs,
    replicaId: randomUUID(),
    now: monotonic,
    backoffMs: opts.storeTiming?.backoffMs,
    heartbeatMs: opts.storeTiming?.heartbeatMs,
    observe: (op, seconds) => { metrics.storeDuration.observe({ op }, seconds) },
    onChange: (up, reason) => {
      if (up) log.info('shared store answering: limits are cluster-wide')
      else log.warn({ reason }, 'shared store not answering: limits follow onStoreFailure')
    }
  })
  registerStoreGauge(metrics, () => store.state() === 'up')
  return store
}

/** The listener's TLS options from server.tls; client certificates are requested for mTLS. */
function tlsOptions (config: Config): GatewayDeps['https'] {
  const tls = config.server.tls
  if (tls === undefined) return undefined
  return {
    cert: readFileSync(tls.certFile),
    key: readFileSync(tls.keyFile),
    ...(tls.clientCaFile === undefined ? {} : { ca: readFileSync(tls.clientCaFile) }),
    requestCert: tls.clientCaFile !== undefined,
    rejectUnauthorized: tls.clientCaFile !== undefined && tls.requireClientCert
  }
}

function baseUrl (app: FastifyInstance, host: string, tls = false): string {
  const addr = app.server.address()
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
  return `${tls ? 'https' : 'http'}://${shown}:${port}`
}

/**
 * Listens, turning the usual failures into one line that names the config field: a raw
 * `EADDRINUSE 0.0.0.0:8080` does not say which of the two listeners, nor what to change.
 */
async function listenAs (app: { listen: (o: { host: string, port: number }) => Promise<unknown> }, host: string, port: number, section: 'server' | 'admin'): Promise<void> {
  try {
    await app.listen({ host, port })
  } catch (err) {
    throw new Error(listenProblem(err, host, port, section), { cause: err })
  }
}

/** The message for a failed listen; pure. */
export function listenProblem (err: unknown, host: string, port: number, section: 'server' | 'admin'): string {
  const code = (err as NodeJS.ErrnoException).code
  const where = `${section}.port ${port} on ${section}.host ${host}`
  if (code === 'EADDRINUSE') return `${where}: the port is in use by another process (EADDRINUSE): stop it or set another ${section}.port`
  if (code === 'EACCES') return `${where}: not allowed (EACCES): ports below 1024 need privileges; set ${section}.port to 1024 or more`
  if (code === 'EADDRNOTAVAIL') return `${where}: no such address on this machine (EADDRNOTAVAIL): set ${section}.host`
  return `${where}: cannot listen (${code ?? (err as Error).message})`
}
