// The token broker: one cached, refreshed-ahead token per (workspace, endpoint id, action).
import { LRUCache } from 'lru-cache'
import type { Logger } from 'pino'
import { TokenUnavailable } from '../errors.js'
import type { MintedToken, TokenErrorInfo } from './grants.js'
import { backoffDelay, DEFAULT_BACKOFF, holdToken, type BackoffPolicy, type HeldToken } from './policy.js'

/** What a token is for. `key` identifies the cache entry; `endpoint` labels metrics (none for workspace tokens). */
export interface TokenSpec {
  key: string
  workspace: string
  endpoint?: string
  /** Mints a token for this spec (a grant against the workspace's token endpoint). */
  mint: (signal: AbortSignal) => Promise<MintedToken>
}

export type LookupResult = 'hit' | 'miss' | 'refresh'

/** Hooks for metrics; all optional. */
export interface BrokerEvents {
  fetched?: (workspace: string, result: 'success' | 'failure', seconds: number) => void
  lookup?: (result: LookupResult) => void
  /** A token was stored (expiresAt in ms) or dropped (undefined) for these endpoint labels. */
  tokenChanged?: (endpoints: Iterable<string>, expiresAt: number | undefined) => void
}

export interface BrokerOptions {
  logger: Logger
  /** Monotonic-enough wall clock in ms; tests inject a fake one. */
  now?: () => number
  random?: () => number
  /** Timeout of one mint. */
  fetchTimeoutMs?: number
  cacheSize?: number
  /** Upper bound of the refresh-ahead jitter. */
  refreshJitterMs?: number
  backoff?: BackoffPolicy
  events?: BrokerEvents
}

/** What readiness reports for one key; never holds the token itself. */
export interface TokenStatus {
  state: 'valid' | 'stale' | 'none'
  expiresAt?: number
  refreshing: boolean
  lastError?: string
  retryAt?: number
}

interface Entry {
  token?: HeldToken
  inflight?: Promise<HeldToken>
  failures: number
  retryAt: number
  lastError?: Error & Partial<TokenErrorInfo>
  /** Bumped by invalidate(): a mint started before it must not store its result. */
  generation: number
  endpoints: Set<string>
}

// OAuth errors that a retry will not fix until someone changes the secret or the grant.
const CREDENTIAL_ERRORS = new Set(['invalid_client', 'invalid_authorization_details', 'unauthorized_client', 'invalid_scope', 'invalid_grant', 'access_denied'])

export class TokenBroker {
  readonly #entries: LRUCache<string, Entry>
  readonly #log: Logger
  readonly #now: () => number
  readonly #random: () => number
  readonly #fetchTimeoutMs: number
  readonly #jitterMs: number
  readonly #backoff: BackoffPolicy
  readonly #events: BrokerEvents
  readonly #aborts = new Set<AbortController>()
  #closed = false

  constructor (opts: BrokerOptions) {
    this.#log = opts.logger
    this.#now = opts.now ?? Date.now
    this.#random = opts.random ?? Math.random
    this.#fetchTimeoutMs = opts.fetchTimeoutMs ?? 10_000
    this.#jitterMs = opts.refreshJitterMs ?? 30_000
    this.#backoff = opts.backoff ?? DEFAULT_BACKOFF
    this.#events = opts.events ?? {}
    this.#entries = new LRUCache<string, Entry>({
      max: opts.cacheSize ?? 10_000,
      dispose: (entry) => { this.#events.tokenChanged?.(entry.endpoints, undefined) }
    })
  }

  /**
   * A token for `spec` that is not unusable. Fresh tokens return at once; a stale one returns at
   * once and starts one background refresh; otherwise callers share one in-flight mint. While a
   * failed mint backs off and nothing usable is held, callers fail fast with TOKEN_UNAVAILABLE.
   */
  async get (spec: TokenSpec): Promise<string> {
    const entry = this.#entry(spec)
    const now = this.#now()
    const held = entry.token
    if (held !== undefined && now < held.unusableAt) {
      if (now >= held.staleAt) {
        this.#events.lookup?.('refresh')
        if (entry.inflight === undefined && now >= entry.retryAt) this.#mint(entry, spec).catch(() => {})
      } else {
        this.#events.lookup?.('hit')
      }
      return held.value
    }
    this.#events.lookup?.('miss')
    if (entry.inflight !== undefined) return (await entry.inflight).value
    if (now < entry.retryAt) throw this.#unavailable(spec, entry, now)
    return (await this.#mint(entry, spec)).value
  }

  /**
   * The held token when it is fresh (not stale, not unusable), counted as a hit; else undefined
   * and nothing counted (call get()). The request path's synchronous fast path: no promise.
   */
  fresh (spec: TokenSpec): string | undefined {
    const entry = this.#entries.get(spec.key)
    const held = entry?.token
    if (held === undefined || this.#now() >= held.staleAt) return undefined
    // An endpoint sharing the key registers itself through get() (the expiry gauge lists it).
    if (spec.endpoint !== undefined && !(entry as Entry).endpoints.has(spec.endpoint)) return undefined
    this.#events.lookup?.('hit')
    return held.value
  }

  /**
   * Drops the token for `spec` (the upstream refused it). With `token`, only if that is still the
   * one held, so a burst of 401s for one old token does not throw away its fresh replacement.
   */
  invalidate (spec: Pick<TokenSpec, 'key'>, token?: string): void {
    const entry = this.#entries.get(spec.key)
    if (entry === undefined) return
    if (token !== undefined && entry.token?.value !== token) return
    entry.generation++
    entry.token = undefined
    entry.inflight = undefined
    this.#events.tokenChanged?.(entry.endpoints, undefined)
  }

  status (key: string): TokenStatus {
    const entry = this.#entries.peek(key)
    if (entry === undefined) return { state: 'none', refreshing: false }
    const now = this.#now()
    const t = entry.token
    const state = t === undefined || now >= t.unusableAt ? 'none' : now >= t.staleAt ? 'stale' : 'valid'
    const out: TokenStatus = { state, refreshing: entry.inflight !== undefined }
    if (state !== 'none' && t !== undefined) out.expiresAt = t.expiresAt
    if (entry.lastError !== undefined) {
      out.lastError = entry.lastError.reason ?? entry.lastError.message
      if (entry.retryAt > now) out.retryAt = entry.retryAt
    }
    return out
  }

  /** Cancels in-flight mints; later get() calls fail. */
  close (): void {
    this.#closed = true
    for (const ac of this.#aborts) ac.abort()
    this.#entries.clear()
  }

  #entry (spec: TokenSpec): Entry {
    let entry = this.#entries.get(spec.key)
    if (entry === undefined) {
      entry = { failures: 0, retryAt: 0, generation: 0, endpoints: new Set() }
      this.#entries.set(spec.key, entry)
    }
    if (spec.endpoint !== undefined) entry.endpoints.add(spec.endpoint)
    return entry
  }

  #mint (entry: Entry, spec: TokenSpec): Promise<HeldToken> {
    const generation = entry.generation
    const p = this.#doMint(entry, spec, generation)
    entry.inflight = p
    const clear = (): void => { if (entry.inflight === p) entry.inflight = undefined }
    p.then(clear, clear)
    return p
  }

  async #doMint (entry: Entry, spec: TokenSpec, generation: number): Promise<HeldToken> {
    if (this.#closed) throw new TokenUnavailable('token broker is closed')
    const ac = new AbortController()
    this.#aborts.add(ac)
    const timer = setTimeout(() => ac.abort(), this.#fetchTimeoutMs)
    const started = this.#now()
    const t0 = performance.now()
    try {
      const minted = await spec.mint(ac.signal)
      this.#events.fetched?.(spec.workspace, 'success', (performance.now() - t0) / 1000)
      // Lifetime counts from before the request was sent, so clock skew errs on the safe side.
      const held = holdToken(minted.accessToken, started, minted.expiresInMs, this.#random() * this.#jitterMs)
      if (entry.generation === generation) {
        if (entry.lastError !== undefined) this.#log.info({ workspace: spec.workspace, endpoint: spec.endpoint }, 'token endpoint recovered')
        entry.token = held
        entry.failures = 0
        entry.retryAt = 0
        entry.lastError = undefined
        this.#events.tokenChanged?.(entry.endpoints, held.expiresAt)
      }
      return held
    } catch (e) {
      const err = e as Error & Partial<TokenErrorInfo>
      if (ac.signal.aborted && err.reason === undefined) err.reason = 'TIMEOUT'
      this.#events.fetched?.(spec.workspace, 'failure', (performance.now() - t0) / 1000)
      this.#recordFailure(entry, spec, err)
      throw this.#unavailable(spec, entry, this.#now())
    } finally {
      clearTimeout(timer)
      this.#aborts.delete(ac)
    }
  }

  #recordFailure (entry: Entry, spec: TokenSpec, err: Error & Partial<TokenErrorInfo>): void {
    const credential = err.reason !== undefined && CREDENTIAL_ERRORS.has(err.reason)
    const sameAsBefore = entry.lastError?.reason === err.reason
    entry.failures++
    const delay = Math.max(backoffDelay(entry.failures, credential, this.#backoff, this.#random), err.retryAfterMs ?? 0)
    entry.retryAt = this.#now() + delay
    entry.lastError = err
    // A credential error is logged once until its cause changes; transient ones at each attempt.
    if (!credential || !sameAsBefore) {
      this.#log[credential ? 'error' : 'warn']({
        workspace: spec.workspace, endpoint: spec.endpoint, reason: err.reason, status: err.status, retryInMs: delay, failures: entry.failures
      }, `token fetch failed: ${err.message}`)
    }
  }

  #unavailable (spec: TokenSpec, entry: Entry, now: number): Error {
    const reason = entry.lastError?.reason ?? 'unknown'
    const what = spec.endpoint === undefined ? `workspace '${spec.workspace}'` : `endpoint '${spec.endpoint}'`
    const retryAfter = Math.max(1, Math.ceil((entry.retryAt - now) / 1000))
    return new TokenUnavailable(`no valid token for ${what} (${reason})`, { headers: { 'retry-after': String(retryAfter) } })
  }
}
