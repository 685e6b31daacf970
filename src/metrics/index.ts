// Every contract metric (docs/operations.md "Metrics") on a registry of its own; no global registry.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { PoolStats } from '../proxy/pools.js'

/** Label value for requests that name no configured endpoint (keeps label sets bounded). */
export const UNKNOWN_ENDPOINT = 'unknown'

export interface MetricsOptions {
  /** Configured endpoint and workspace names, so their series exist from the start. */
  endpoints: readonly string[]
  workspaces: readonly string[]
  /** Export Node's default process metrics (off in unit tests that build many registries). */
  defaultMetrics?: boolean
}

export type Metrics = ReturnType<typeof createMetrics>

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]
const TOKEN_FETCH_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25]
const POOL_STATES = ['connected', 'free', 'pending', 'running'] as const

/** Every routegate metric name: the contract (docs/operations.md "Metrics"); dashboards and alerts use only these. */
export const METRIC_NAMES = [
  'routegate_requests_total', 'routegate_request_duration_seconds', 'routegate_upstream_duration_seconds',
  'routegate_overhead_seconds', 'routegate_inflight_requests', 'routegate_token_fetches_total',
  'routegate_token_fetch_duration_seconds', 'routegate_token_cache_total', 'routegate_token_expiry_timestamp_seconds',
  'routegate_upstream_pool_connections', 'routegate_upstream_circuit_open', 'routegate_ready',
  'routegate_upstream_token_echoes_total', 'routegate_endpoint_ready', 'routegate_config_reloads_total',
  'routegate_caller_requests_total', 'routegate_model_tokens_total', 'routegate_aborted_responses_total',
  'routegate_limit_decisions_total', 'routegate_store_up', 'routegate_store_duration_seconds',
  'routegate_cache_requests_total', 'routegate_shadow_requests_total', 'routegate_hedges_total', 'routegate_fallbacks_total'
] as const

/** `routegate_cache_requests_total{result}`. */
export type CacheResult = 'hit' | 'miss' | 'bypass' | 'coalesced'
/** `routegate_shadow_requests_total{result}`, by the primary endpoint. */
export type ShadowResult = 'sent' | 'skipped_busy' | 'skipped_size' | 'failed'
/** `routegate_hedges_total{result}`. */
export type HedgeResult = 'sent' | 'won' | 'wasted' | 'budget_exhausted'
const CACHE_RESULTS: readonly CacheResult[] = ['hit', 'miss', 'bypass', 'coalesced']
const SHADOW_RESULTS: readonly ShadowResult[] = ['sent', 'skipped_busy', 'skipped_size', 'failed']
const HEDGE_RESULTS: readonly HedgeResult[] = ['sent', 'won', 'wasted', 'budget_exhausted']

/** Label value for requests whose caller was not identified. */
export const UNKNOWN_CALLER = 'unknown'

/** Why a response that had started was cut (`routegate_aborted_responses_total{cause}`). */
export type AbortCause = 'upstream' | 'idle_timeout' | 'client' | 'client_stalled' | 'shutdown'

/** The `code` label: a real HTTP status (100–599), else `other`, so the label set stays bounded. */
export function codeLabel (status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other'
}

interface Inc { inc: (n?: number) => void }
interface Observe { observe: (v: number) => void }

/** One endpoint's series, bound once: the request path never hashes label sets. */
export interface EndpointSeries {
  requests: (code: string) => Inc
  duration: Observe
  upstream: Observe
  overhead: Observe
  inflight: { inc: () => void, dec: () => void }
  tokenEchoes: Inc
  aborted: (cause: AbortCause) => Inc
  /** The opt-in features' counters (docs/beyond.md), by this endpoint. */
  cache: (result: CacheResult) => Inc
  shadow: (result: ShadowResult) => Inc
  hedges: (result: HedgeResult) => Inc
  /** A request this endpoint could not answer, sent to `to` (a configured endpoint). */
  fallback: (to: string) => Inc
}

/** One caller's series, bound once (callers are configured names, so the label set is bounded). */
export interface CallerSeries {
  requests: (code: string) => Inc
  /** `routegate_model_tokens_total{caller, endpoint, kind}`. */
  tokens: (endpoint: string, kind: 'prompt' | 'completion') => Inc
}

/**
 * Counter children for the request path: `inc` adds to a plain number, and the counter takes the
 * sum at scrape time (its `collect`). prom-client's own child `inc` hashes and validates the
 * label set on every call; this keeps that off the request path for the per-request counters.
 */
function deferred<L extends Record<string, string>> (counter: Counter<Extract<keyof L, string>>): (labels: L) => Inc {
  const pending: Array<{ labels: L, n: number }> = []
  flushers.set(counter, () => {
    for (const p of pending) {
      if (p.n === 0) continue
      counter.inc(p.labels as never, p.n)
      p.n = 0
    }
  })
  return (labels) => {
    const child = { labels, n: 0 }
    pending.push(child)
    // Registered with zero, so the series shows from the start (as prom-client's children do).
    counter.inc(labels as never, 0)
    return { inc: (v = 1) => { child.n += v } }
  }
}

/**
 * A histogram child for the request path: an observation is a bucket search and three additions
 * on plain numbers. Folded into the histogram at scrape time (foldHistogram), like the deferred
 * counters: prom-client's own child hashes and validates the label set on every observe.
 */
export interface HistogramCells extends Observe {
  /** Observations per bucket, not cumulative: counts[i] for bounds[i-1] < v <= bounds[i]. */
  readonly counts: Float64Array
  sum: number
  count: number
}

/** Cells for `bounds` (ascending upper bounds, +Inf implied: such values count only in `count`). */
export function histogramCells (bounds: readonly number[]): HistogramCells {
  const counts = new Float64Array(bounds.length)
  const cells: HistogramCells = {
    counts,
    sum: 0,
    count: 0,
    observe (v) {
      // Not a number: dropped rather than poisoning the sum (prom-client would throw on the request path).
      if (!Number.isFinite(v)) return
      cells.sum += v
      cells.count++
      for (let i = 0; i < bounds.length; i++) {
        if (v <= (bounds[i] as number)) {
          counts[i] = (counts[i] as number) + 1
          return
        }
      }
    }
  }
  return cells
}

/** prom-client's per-series histogram state: what its exposition reads (lib/histogram.js). */
interface HistogramEntry { labels: Record<string, string>, bucketValues: Record<number, number>, sum: number, count: number }

/**
 * Replaces `histogram`'s state with the cells' totals (the cells are the only writers, so the
 * series always show everything observed so far). Relies on prom-client's internal `hashMap`
 * shape; test/metrics/histogram-cells.test.ts checks the exposition it yields.
 */
export function foldHistogram (histogram: Histogram, bounds: readonly number[], children: ReadonlyArray<{ labels: Record<string, string>, cells: HistogramCells }>): void {
  const map: Record<string, HistogramEntry> = {}
  for (const [i, { labels, cells }] of children.entries()) {
    // A series shows from its first observation, as prom-client's own children do.
    if (cells.count === 0) continue
    const bucketValues: Record<number, number> = {}
    for (const [j, bound] of bounds.entries()) bucketValues[bound] = cells.counts[j] as number
    map[String(i)] = { labels, bucketValues, sum: cells.sum, count: cells.count }
  }
  (histogram as unknown as { hashMap: Record<string, HistogramEntry> }).hashMap = map
}

/** A histogram whose children are HistogramCells, folded in by its collect(). */
function deferredHistogram (opts: { name: string, help: string, buckets: number[], registers: Registry[] }): (endpoint: string) => HistogramCells {
  const children: Array<{ labels: Record<string, string>, cells: HistogramCells }> = []
  const bounds = opts.buckets
  // eslint-disable-next-line no-new -- registered by construction
  new Histogram({ ...opts, labelNames: ['endpoint'] as const, collect () { foldHistogram(this, bounds, children) } })
  return (endpoint) => {
    const cells = histogramCells(bounds)
    children.push({ labels: { endpoint }, cells })
    return cells
  }
}

/** Each deferred counter's flush, run by its collect(). */
const flushers = new WeakMap<object, () => void>()
function flushOnCollect (this: object): void { flushers.get(this)?.() }

/** memo() for two keys. */
function memo2<T> (make: (a: string, b: string) => T): (a: string, b: string) => T {
  const byA = memo(a => memo(b => make(a, b)))
  return (a, b) => byA(a)(b)
}

/** A label child per key, created on first use and then reused (no label hashing per request). */
function memo<T> (make: (key: string) => T): (key: string) => T {
  const children = new Map<string, T>()
  return (key) => {
    let c = children.get(key)
    if (c === undefined) {
      c = make(key)
      children.set(key, c)
    }
    return c
  }
}

export function createMetrics (opts: MetricsOptions) {
  const registry = new Registry()
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry })
  const registers = [registry]

  const requests = new Counter({
    name: 'routegate_requests_total', help: 'Requests answered, by endpoint and HTTP status', labelNames: ['endpoint', 'code'] as const, registers, collect: flushOnCollect
  })
  // Request-path histograms: children are plain cells, folded in at scrape time.
  const requestDuration = deferredHistogram({
    name: 'routegate_request_duration_seconds', help: 'Request received to response finished', buckets: DURATION_BUCKETS, registers
  })
  const upstreamDuration = deferredHistogram({
    name: 'routegate_upstream_duration_seconds', help: 'Dispatch to upstream response headers', buckets: DURATION_BUCKETS, registers
  })
  const overhead = deferredHistogram({
    name: 'routegate_overhead_seconds', help: 'Time the gateway added before response headers (total to headers minus upstream)', buckets: OVERHEAD_BUCKETS, registers
  })
  // In-flight counts per endpoint as plain numbers, set on the gauge at scrape time.
  const inflightCounts = new Map<string, { n: number }>()
  const inflightOf = (endpoint: string): { n: number } => {
    let c = inflightCounts.get(endpoint)
    if (c === undefined) {
      c = { n: 0 }
      inflightCounts.set(endpoint, c)
    }
    return c
  }
  new Gauge({ // eslint-disable-line no-new -- registered by construction
    name: 'routegate_inflight_requests',
    help: 'Requests in progress',
    labelNames: ['endpoint'] as const,
    registers,
    collect () { for (const [endpoint, c] of inflightCounts) this.set({ endpoint }, c.n) }
  })
  const tokenFetches = new Counter({
    name: 'routegate_token_fetches_total', help: 'Token endpoint calls, by workspace and result', labelNames: ['workspace', 'result'] as const, registers
  })
  const tokenFetchDuration = new Histogram({
    name: 'routegate_token_fetch_duration_seconds', help: 'Token endpoint latency', labelNames: ['workspace'] as const, buckets: TOKEN_FETCH_BUCKETS, registers
  })
  const tokenCache = new Counter({
    name: 'routegate_token_cache_total', help: 'Token broker look-ups: hit, miss or refresh (stale token served while refreshing)', labelNames: ['result'] as const, registers, collect: flushOnCollect
  })
  const tokenExpiry = new Gauge({
    name: 'routegate_token_expiry_timestamp_seconds', help: 'Expiry (unix seconds) of the token held for the endpoint; absent when none is held', labelNames: ['endpoint'] as const, registers
  })
  const tokenEchoes = new Counter({
    name: 'routegate_upstream_token_echoes_total',
    help: 'Upstream response header fields dropped because their value held the scoped token',
    labelNames: ['endpoint'] as const,
    registers
  })
  const aborted = new Counter({
    name: 'routegate_aborted_responses_total',
    help: 'Responses cut after they started (a stream broke off): cause=upstream (reset, truncated, invalid), idle_timeout (no byte for the idle timeout), client (the caller left), client_stalled (the caller read nothing for the idle timeout), shutdown (cut at the end of a drain)',
    labelNames: ['endpoint', 'cause'] as const,
    registers,
    collect: flushOnCollect
  })
  const callerRequests = new Counter({
    name: 'routegate_caller_requests_total', help: 'Requests answered per configured caller (unknown when none was identified), by HTTP status', labelNames: ['caller', 'code'] as const, registers, collect: flushOnCollect
  })
  const modelTokens = new Counter({
    name: 'routegate_model_tokens_total',
    help: 'Tokens the endpoints reported in the usage of OpenAI-compatible answers, per caller, endpoint and kind (prompt, completion)',
    labelNames: ['caller', 'endpoint', 'kind'] as const,
    registers,
    collect: flushOnCollect
  })
  for (const endpoint of opts.endpoints) inflightOf(endpoint)
  for (const workspace of opts.workspaces) {
    for (const result of ['success', 'failure'] as const) tokenFetches.inc({ workspace, result }, 0)
  }
  // One look-up per request: counted in plain numbers like the request counters.
  const tokenCacheChild = deferred<{ result: string }>(tokenCache)
  const tokenLookups = { hit: tokenCacheChild({ result: 'hit' }), miss: tokenCacheChild({ result: 'miss' }), refresh: tokenCacheChild({ result: 'refresh' }) }

  const cacheRequests = new Counter({
    name: 'routegate_cache_requests_total', help: 'Cache look-ups of endpoints with a cache: hit, miss, bypass (Cache-Control: no-cache), coalesced (waited for a concurrent miss)', labelNames: ['endpoint', 'result'] as const, registers, collect: flushOnCollect
  })
  const shadowRequests = new Counter({
    name: 'routegate_shadow_requests_total', help: 'Shadow copies by the primary endpoint: sent, skipped_busy (maxInFlight), skipped_size (maxBodyBytes), failed (no answer from the shadow)', labelNames: ['endpoint', 'result'] as const, registers, collect: flushOnCollect
  })
  const hedges = new Counter({
    name: 'routegate_hedges_total', help: 'Hedged requests: sent, won (the hedge answered first), wasted (the first attempt did), budget_exhausted (wanted, not sent)', labelNames: ['endpoint', 'result'] as const, registers, collect: flushOnCollect
  })
  const fallbacks = new Counter({
    name: 'routegate_fallbacks_total', help: 'Requests sent to a fallback endpoint, by primary endpoint and fallback', labelNames: ['endpoint', 'to'] as const, registers, collect: flushOnCollect
  })
  const cacheChild = deferred<{ endpoint: string, result: string }>(cacheRequests)
  const shadowChild = deferred<{ endpoint: string, result: string }>(shadowRequests)
  const hedgeChild = deferred<{ endpoint: string, result: string }>(hedges)
  const fallbackChild = deferred<{ endpoint: string, to: string }>(fallbacks)
  /** A result child per label value, made on first use (or by showFeatures). */
  const results = (child: (l: { endpoint: string, result: string }) => Inc, endpoint: string): (r: string) => Inc =>
    memo(result => child({ endpoint, result }))

  const configReloads = new Counter({
    name: 'routegate_config_reloads_total', help: 'Config reloads (SIGHUP), by result', labelNames: ['result'] as const, registers
  })
  for (const result of ['success', 'failure'] as const) configReloads.inc({ result }, 0)
  const limitDecisions = new Counter({
    name: 'routegate_limit_decisions_total',
    help: 'Limit decisions other than a plain admit: limited (refused), shadow_limited (shadow mode would have refused), store_fallback (the store did not answer: onStoreFailure applied), by scope (caller, endpoint)',
    labelNames: ['scope', 'decision'] as const,
    registers
  })
  for (const scope of ['caller', 'endpoint'] as const) {
    for (const decision of ['limited', 'shadow_limited', 'store_fallback'] as const) limitDecisions.inc({ scope, decision }, 0)
  }
  const storeDuration = new Histogram({
    name: 'routegate_store_duration_seconds', help: 'Shared store operation latency (limit, reconcile, heartbeat), failures included', labelNames: ['op'] as const, buckets: STORE_BUCKETS, registers
  })
  const requestChild = deferred<{ endpoint: string, code: string }>(requests)
  const abortedChild = deferred<{ endpoint: string, cause: string }>(aborted)
  const callerChild = deferred<{ caller: string, code: string }>(callerRequests)
  const tokensChild = deferred<{ caller: string, endpoint: string, kind: string }>(modelTokens)
  const series = new Map<string, EndpointSeries>()
  let known = new Set([...opts.endpoints, UNKNOWN_ENDPOINT])
  /** The bound series of a configured endpoint (any other name gets `unknown`'s). */
  function endpointSeries (name: string): EndpointSeries {
    const endpoint = known.has(name) ? name : UNKNOWN_ENDPOINT
    let s = series.get(endpoint)
    if (s === undefined) {
      s = {
        requests: memo(code => requestChild({ endpoint, code })),
        duration: requestDuration(endpoint),
        upstream: upstreamDuration(endpoint),
        overhead: overhead(endpoint),
        inflight: inflightGauge(endpoint),
        tokenEchoes: tokenEchoes.labels({ endpoint }),
        aborted: memo(cause => abortedChild({ endpoint, cause })),
        cache: results(cacheChild, endpoint),
        shadow: results(shadowChild, endpoint),
        hedges: results(hedgeChild, endpoint),
        fallback: memo(to => fallbackChild({ endpoint, to: known.has(to) ? to : UNKNOWN_ENDPOINT }))
      }
      series.set(endpoint, s)
    }
    return s
  }
  for (const name of known) endpointSeries(name)

  /** The gauge's series appears on first use (configured endpoints have theirs from the start). */
  function inflightGauge (endpoint: string): EndpointSeries['inflight'] {
    let c: { n: number } | undefined
    return { inc: () => { (c ??= inflightOf(endpoint)).n++ }, dec: () => { (c ??= inflightOf(endpoint)).n-- } }
  }

  const callers = memo<CallerSeries>(caller => ({
    requests: memo(code => callerChild({ caller, code })),
    tokens: memo2((endpoint, kind) => tokensChild({ caller, endpoint, kind }))
  }))
  /** The bound series of a caller (a configured name), or of `unknown`. */
  function callerSeries (name: string | undefined): CallerSeries {
    return callers(name ?? UNKNOWN_CALLER)
  }

  return {
    registry,
    endpointSeries,
    callerSeries,
    configReloads,
    limitDecisions,
    storeDuration,
    /** After a reload: the configured names that label series (others count as `unknown`). */
    setEndpoints (names: readonly string[]) {
      known = new Set([...names, UNKNOWN_ENDPOINT])
      for (const name of known) {
        endpointSeries(name)
        inflightOf(name)
      }
    },
    /**
     * Makes the series of the features `endpoint` uses show (at zero) before their first count,
     * so dashboards and rate() see them from the start; endpoints without a feature have none.
     */
    showFeatures (endpoint: string, uses: { cache?: boolean, shadow?: boolean, hedge?: boolean, fallback?: readonly string[] }) {
      const s = endpointSeries(endpoint)
      if (uses.cache === true) for (const r of CACHE_RESULTS) s.cache(r)
      if (uses.shadow === true) for (const r of SHADOW_RESULTS) s.shadow(r)
      if (uses.hedge === true) for (const r of HEDGE_RESULTS) s.hedges(r)
      for (const to of uses.fallback ?? []) s.fallback(to)
    },
    tokenEchoes,
    requests,
    tokenFetches,
    tokenFetchDuration,
    tokenCache,
    tokenExpiry,
    /** Broker hooks that keep the token metrics current. */
    brokerEvents: {
      fetched (workspace: string, result: 'success' | 'failure', seconds: number) {
        tokenFetches.inc({ workspace, result })
        tokenFetchDuration.observe({ workspace }, seconds)
      },
      lookup (result: 'hit' | 'miss' | 'refresh') { tokenLookups[result].inc() },
      tokenChanged (endpoints: Iterable<string>, expiresAt: number | undefined) {
        for (const endpoint of endpoints) {
          if (expiresAt === undefined) tokenExpiry.remove({ endpoint })
          else tokenExpiry.set({ endpoint }, expiresAt / 1000)
        }
      }
    }
  }
}

/** What the state gauges read at scrape time (never on the request path, never fetching). */
export interface StateSources {
  /** The configured endpoint names now (they change on reload). */
  endpoints: () => readonly string[]
  /** Pool stats of the endpoint's pool. */
  poolStats: (endpoint: string) => PoolStats | undefined
  /** Whether the endpoint's circuit is open (failing fast) right now. */
  circuitOpen: (endpoint: string) => boolean
  /** Whether /readyz would answer 200 (not draining, warmed up, at least one endpoint servable). */
  ready: () => boolean
  /** Whether the endpoint holds a usable token. */
  endpointReady: (endpoint: string) => boolean
}

/**
 * The gauges computed at scrape time from the broker, registry, pools and breakers; registered
 * once those exist, so the composition root builds everything in dependency order.
 */
export function registerStateGauges (metrics: Pick<Metrics, 'registry'>, sources: StateSources): void {
  const registers = [metrics.registry]
  const { endpoints, poolStats, circuitOpen, ready, endpointReady } = sources
  new Gauge({ // eslint-disable-line no-new -- registered by construction
    name: 'routegate_upstream_pool_connections',
    help: 'undici pool of the endpoint\'s origin: connected/free/pending/running',
    labelNames: ['endpoint', 'state'] as const,
    registers,
    collect () {
      this.reset()
      for (const endpoint of endpoints()) {
        const s = poolStats(endpoint)
        for (const state of POOL_STATES) this.set({ endpoint, state }, s?.[state] ?? 0)
      }
    }
  })
  perEndpointFlag('routegate_upstream_circuit_open', '1 while the endpoint\'s circuit breaker is open (failing fast after repeated connect failures), else 0', circuitOpen)
  new Gauge({ // eslint-disable-line no-new -- registered by construction
    name: 'routegate_ready',
    help: '1 while /readyz would answer 200 (not draining, warmed up, at least one endpoint servable; computed without fetching), else 0',
    registers,
    collect () { this.set(ready() ? 1 : 0) }
  })
  perEndpointFlag('routegate_endpoint_ready', '1 while the endpoint can be served (holds a usable token), else 0', endpointReady)

  /** A 0/1 gauge per configured endpoint, read at scrape time (removed endpoints drop out). */
  function perEndpointFlag (name: string, help: string, value: (endpoint: string) => boolean): void {
    new Gauge({ // eslint-disable-line no-new -- registered by construction
      name,
      help,
      labelNames: ['endpoint'] as const,
      registers,
      collect () {
        this.reset()
        for (const endpoint of endpoints()) this.set({ endpoint }, value(endpoint) ? 1 : 0)
      }
    })
  }
}

/** `routegate_store_up`, read at scrape time; registered only when a store is configured (absent otherwise). */
export function registerStoreGauge (metrics: Pick<Metrics, 'registry'>, up: () => boolean): void {
  new Gauge({ // eslint-disable-line no-new -- registered by construction
    name: 'routegate_store_up',
    help: '1 while the shared store answers within store.redis.timeoutMs, else 0',
    registers: [metrics.registry],
    collect () { this.set(up() ? 1 : 0) }
  })
}
