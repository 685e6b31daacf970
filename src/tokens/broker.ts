// The token broker: one cached, refreshed-ahead token per (workspace, endpoint id, action).
import { LRUCache } from 'lru-cache'
import type { Logger } from 'pino'
import { TOKENS_DEFAULTS } from '../config/schema.js'
import { NoToken, TokenEndpointError, TokenUnavailable } from '../errors.js'
import type { MintedToken } from './grants.js'
import { CREDENTIAL_CODES, type OAuthCode } from './oauth-errors.js'
import { backoffDelay, DEFAULT_BACKOFF, holdToken, type BackoffPolicy, type HeldToken } from './policy.js'
import { realTimers, type Timer, type Timers } from '../time/timers.js'

/** What a token is for. `key` identifies the cache entry; `endpoint` labels metrics (none for workspace tokens). */
export interface TokenSpec {
  key: string
  workspace: string
  endpoint?: string
  /** The authorization_details (a JSON string) an endpoint token is scoped by; none for workspace tokens. */
  authorizationDetails?: string
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
  /** Monotonic clock in ms, for fetch durations; default performance.now. */
  monotonic?: () => number
  /** The mint-spacing wait and the fetch timeout run on these; default Node's. */
  timers?: Timers
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
  /** The fixed-list code of the last failure (what callers and /readyz may see). */
  lastReason?: OAuthCode
  endpoints: Set<string>
  /** When the last mint started: never two within MIN_MINT_SPACING_MS. */
  lastMintAt: number
  /** The held token was refused by an upstream (401/403). */
  refused: boolean
  /** Tokens refused in a row: from the second on, the key backs off. */
  refusals: number
}

/** Never more than one mint per key per second, whatever any server answers. */
const MIN_MINT_SPACING_MS = 1000

export class TokenBroker {
  readonly #entries: LRUCache<string, Entry>
  readonly #log: Logger
  readonly #now: () => number
  readonly #monotonic: () => number
  readonly #timers: Timers
  readonly #random: () => number
  readonly #fetchTimeoutMs: number
  readonly #jitterMs: number
  readonly #backoff: BackoffPolicy
  readonly #events: BrokerEvents
  readonly #aborts = new Set<AbortController>()
  /** Timers close() clears: a pending one must not keep the process alive. */
  readonly #pending = new Set<Timer>()
  readonly #sleepers = new Set<() => void>()
  /** Keys whose tokens were refused and none accepted since. */
  readonly #refusing = new Set<string>()
  #closed = false

  constructor (opts: BrokerOptions) {
    this.#log = opts.logger
    this.#now = opts.now ?? Date.now
    this.#monotonic = opts.monotonic ?? (() => performance.now())
    this.#timers = opts.timers ?? realTimers
    this.#random = opts.random ?? Math.random
    this.#fetchTimeoutMs = opts.fetchTimeoutMs ?? TOKENS_DEFAULTS.fetchTimeoutMs
    this.#jitterMs = opts.refreshJitterMs ?? TOKENS_DEFAULTS.refreshJitterMs
    this.#backoff = opts.backoff ?? DEFAULT_BACKOFF
    this.#events = opts.events ?? {}
    this.#entries = new LRUCache<string, Entry>({
      max: opts.cacheSize ?? TOKENS_DEFAULTS.cacheSize,
      dispose: (entry) => { this.#events.tokenChanged?.(entry.endpoints, undefined) }
    })
  }

  /**
   * A token for `spec` that is not unusable. Fresh tokens return at once; a stale one returns at
   * once and starts one background refresh; otherwise callers share one in-flight mint. While a
   * failed mint backs off and nothing usable is held, callers fail fast with TOKEN_UNAVAILABLE.
   * A token an upstream refused is replaced by a new mint, unless its replacement was refused
   * too: then the refused token is served (callers get the endpoint's own 401/403) until the
   * key's backoff step allows the next mint.
   */
  async get (spec: TokenSpec): Promise<string> {
    const entry = this.#entry(spec)
    const now = this.#now()
    const held = entry.token
    if (held !== undefined && now < held.unusableAt) {
      if (entry.refused) {
        if (entry.inflight !== undefined) return await this.#orHeld(entry.inflight, held)
        // Backing off (refusals of fresh tokens, or failed mints): serve the refused token, so
        // callers get the endpoint's own 401/403, and mint at the next step, not per request.
        if (now < entry.retryAt) {
          this.#events.lookup?.('hit')
          return held.value
        }
        this.#events.lookup?.('miss')
        return await this.#orHeld(this.#mint(entry, spec), held)
      }
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
   * The held token when it is fresh (not stale, not unusable, not refused), counted as a hit;
   * else undefined and nothing counted (call get()). The request path's synchronous fast path.
   */
  fresh (spec: TokenSpec): string | undefined {
    const entry = this.#entries.get(spec.key)
    const held = entry?.token
    if (held === undefined || entry === undefined || entry.refused || this.#now() >= held.staleAt) return undefined
    // An endpoint sharing the key registers itself through get() (the expiry gauge lists it).
    if (spec.endpoint !== undefined && !entry.endpoints.has(spec.endpoint)) return undefined
    this.#events.lookup?.('hit')
    return held.value
  }

  /**
   * An upstream refused `token` (401/403, or a refused assertion): the next get() mints a new
   * one. When the refused token was itself the replacement of a refused one, the key backs off
   * instead (1 s doubling to backoffMaxMs): a principal that lost its permission costs one mint
   * per step, not one per request. Returns whether this call changed anything (the first report
   * of that token), so callers evict related state once, not per request.
   */
  invalidate (spec: Pick<TokenSpec, 'key'>, token?: string): boolean {
    const entry = this.#entries.get(spec.key)
    if (entry === undefined || entry.token === undefined || entry.refused) return false
    if (token !== undefined && entry.token.value !== token) return false
    entry.refused = true
    entry.refusals++
    this.#refusing.add(spec.key)
    if (entry.refusals >= 2) {
      const delay = Math.min(this.#backoff.maxMs, this.#backoff.baseMs * 2 ** Math.min(entry.refusals - 2, 30))
      entry.retryAt = Math.max(entry.retryAt, this.#now() + delay)
      this.#log.warn({ key: redactKey(spec.key), refusals: entry.refusals, retryInMs: delay }, 'fresh tokens are refused too: backing off (check the principal\'s permission on the endpoint)')
    }
    return true
  }

  /**
   * An upstream accepted `token` (any answer but 401/403): refusals of earlier tokens are over.
   * Costs one Set size check per request while no key is refusing.
   */
  accepted (spec: Pick<TokenSpec, 'key'>, token: string): void {
    if (this.#refusing.size === 0 || !this.#refusing.has(spec.key)) return
    const entry = this.#entries.peek(spec.key)
    if (entry === undefined || entry.token?.value !== token || entry.refused) return
    entry.refusals = 0
    // A refusal backoff ends here; a failure's Retry-After still in force does not.
    if (entry.failures === 0) entry.retryAt = 0
    this.#refusing.delete(spec.key)
  }

  status (key: string): TokenStatus {
    const entry = this.#entries.peek(key)
    if (entry === undefined) return { state: 'none', refreshing: false }
    const now = this.#now()
    const t = entry.token
    const state = t === undefined || now >= t.unusableAt ? 'none' : now >= t.staleAt ? 'stale' : 'valid'
    const out: TokenStatus = { state, refreshing: entry.inflight !== undefined }
    if (state !== 'none' && t !== undefined) out.expiresAt = t.expiresAt
    if (entry.lastReason !== undefined) {
      out.lastError = entry.lastReason
      if (entry.retryAt > now) out.retryAt = entry.retryAt
    }
    return out
  }

  /** Whether the held token was refused by an upstream and not replaced yet. */
  isRefused (spec: Pick<TokenSpec, 'key'>): boolean {
    return this.#entries.peek(spec.key)?.refused === true
  }

  /** Cancels in-flight mints; later get() calls fail. */
  close (): void {
    this.#closed = true
    for (const ac of this.#aborts) ac.abort()
    for (const t of this.#pending) this.#timers.clearTimeout(t)
    // Mints waiting for their one-second slot go on at once, and fail as closed.
    for (const wake of this.#sleepers) wake()
    this.#sleepers.clear()
    this.#entries.clear()
  }

  /** The mint's token, or the held (refused) one when the mint fails: the caller still gets an answer from the endpoint. */
  async #orHeld (mint: Promise<HeldToken>, held: HeldToken): Promise<string> {
    try {
      return (await mint).value
    } catch {
      return held.value
    }
  }

  #entry (spec: TokenSpec): Entry {
    let entry = this.#entries.get(spec.key)
    if (entry === undefined) {
      entry = { failures: 0, retryAt: 0, endpoints: new Set(), lastMintAt: -Infinity, refused: false, refusals: 0 }
      this.#entries.set(spec.key, entry)
    }
    if (spec.endpoint !== undefined) entry.endpoints.add(spec.endpoint)
    return entry
  }

  #mint (entry: Entry, spec: TokenSpec): Promise<HeldToken> {
    // One mint per key per second at most: a mint due sooner waits for its turn (shared by all).
    const wait = entry.lastMintAt + MIN_MINT_SPACING_MS - this.#now()
    const p = wait > 0 ? this.#after(wait).then(() => this.#doMint(entry, spec)) : this.#doMint(entry, spec)
    entry.inflight = p
    const clear = (): void => { if (entry.inflight === p) entry.inflight = undefined }
    p.then(clear, clear)
    return p
  }

  #after (ms: number): Promise<void> {
    return new Promise(resolve => {
      const wake = (): void => { this.#pending.delete(t); this.#sleepers.delete(wake); resolve() }
      const t = this.#timers.setTimeout(wake, Math.min(ms, MIN_MINT_SPACING_MS))
      this.#pending.add(t)
      this.#sleepers.add(wake)
    })
  }

  async #doMint (entry: Entry, spec: TokenSpec): Promise<HeldToken> {
    if (this.#closed) throw new TokenUnavailable('token broker is closed')
    entry.lastMintAt = this.#now()
    const ac = new AbortController()
    this.#aborts.add(ac)
    const timer = this.#timers.setTimeout(() => { ac.abort() }, this.#fetchTimeoutMs)
    // close() clears it too: a mint that never settles must not keep the process alive.
    this.#pending.add(timer)
    const started = this.#now()
    const t0 = this.#monotonic()
    try {
      const minted = await spec.mint(ac.signal)
      this.#events.fetched?.(spec.workspace, 'success', (this.#monotonic() - t0) / 1000)
      // Uniform jitter in [0, min(refreshJitterMs, lifetime / 10)], so replicas spread out.
      const jitter = this.#random() * Math.min(this.#jitterMs, minted.expiresInMs / 10)
      // Lifetime counts from before the request was sent, so clock skew errs on the safe side.
      const held = holdToken(minted.accessToken, started, minted.expiresInMs, jitter)
      if (entry.lastReason !== undefined) this.#log.info({ workspace: spec.workspace, endpoint: spec.endpoint }, 'token endpoint recovered')
      entry.token = held
      entry.refused = false
      entry.failures = 0
      // A refusal backoff stays in force until a token is accepted (see accepted()).
      if (entry.refusals < 2) entry.retryAt = 0
      entry.lastReason = undefined
      this.#events.tokenChanged?.(entry.endpoints, held.expiresAt)
      return held
    } catch (e) {
      this.#events.fetched?.(spec.workspace, 'failure', (this.#monotonic() - t0) / 1000)
      this.#recordFailure(entry, spec, e, ac.signal.aborted)
      throw this.#unavailable(spec, entry, this.#now())
    } finally {
      this.#timers.clearTimeout(timer)
      this.#pending.delete(timer)
      this.#aborts.delete(ac)
    }
  }

  #recordFailure (entry: Entry, spec: TokenSpec, err: unknown, timedOut: boolean): void {
    const reason = reasonOf(err, timedOut)
    const credential = CREDENTIAL_CODES.has(reason)
    const sameAsBefore = entry.lastReason === reason
    entry.failures++
    // A Retry-After is honoured up to the cap, never beyond: one far value must not stop a key.
    const cap = credential ? this.#backoff.credentialMaxMs : this.#backoff.maxMs
    const retryAfterMs = err instanceof TokenEndpointError ? err.retryAfterMs ?? 0 : 0
    const delay = Math.min(cap, Math.max(backoffDelay(entry.failures, credential, this.#backoff, this.#random), retryAfterMs))
    // Never shortens a deadline already in force (a longer refusal backoff).
    entry.retryAt = Math.max(entry.retryAt, this.#now() + delay, entry.lastMintAt + MIN_MINT_SPACING_MS)
    entry.lastReason = reason
    // A credential error is logged once until its cause changes; transient ones at each attempt.
    if (!credential || !sameAsBefore) {
      const e = err as { status?: number, transport?: string, message?: string }
      this.#log[credential ? 'error' : 'warn']({
        workspace: spec.workspace, endpoint: spec.endpoint, reason, status: e.status, transport: e.transport, retryInMs: delay, failures: entry.failures
      }, `token fetch failed: ${err instanceof TokenEndpointError || err instanceof TokenUnavailable ? err.message : reason}`)
    }
  }

  #unavailable (spec: TokenSpec, entry: Entry, now: number): Error {
    const reason = entry.lastReason ?? 'temporarily_unavailable'
    const what = spec.endpoint === undefined ? `workspace '${spec.workspace}'` : `endpoint '${spec.endpoint}'`
    const retryAfter = Math.max(1, Math.ceil((entry.retryAt - now) / 1000))
    return new NoToken(`no valid token for ${what} (${reason})`, reason, { headers: { 'retry-after': String(retryAfter) } })
  }
}

function reasonOf (err: unknown, timedOut: boolean): OAuthCode {
  if (err instanceof TokenEndpointError) return err.reason
  if (err instanceof NoToken) return err.reason
  if (timedOut) return 'temporarily_unavailable'
  return 'server_error'
}

/** Token keys name workspace and endpoint id: safe, but shown with readable separators. */
function redactKey (key: string): string {
  return key.replaceAll('\u0000', '/')
}
