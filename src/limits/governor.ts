// Rate and token limits for one request, caller and endpoint together: one decision in the
// shared store when there is one (cluster-wide), in process otherwise (per replica), with each
// scope's onStoreFailure when the store does not answer; then, for token budgets, the
// reconciliation of the reservation with the answer's usage. docs/governance.md is the contract.
import type { CallerLimits, EndpointLimits } from '../config/schema.js'
import type { Store } from '../store/store.js'
import { bucketsFor, msToFull, type BucketOutcome, type BucketSpec, type Decision, type Scope, type Window } from './buckets.js'
import type { LocalLimiter } from './local.js'

export type LimitDecision = 'limited' | 'shadow_limited' | 'store_fallback'

type Limits = Partial<Pick<CallerLimits, keyof EndpointLimits>>

export interface LimitRequest {
  caller: { name: string, limits?: Limits | undefined }
  /** Absent for requests that name no endpoint (the model list). */
  endpoint?: { name: string, limits?: Limits | undefined } | undefined
  /** Tokens to reserve (OpenAI-compatible routes only); absent: token budgets do not apply. */
  tokens?: number | undefined
}

export interface Refusal {
  scope: Scope
  /** The refusing limit's config name, e.g. `requestsPerMinute`; `store` when closed on a store failure. */
  limit: string
  message: string
  headers: Record<string, string>
}

/** A token reservation held by an admitted request, settled once by `settle`. */
export interface Reservation {
  readonly tokens: number
  /** Replaces the reservation with `used` tokens (undefined: keep it; 0 with `refund`: give it all back). */
  settle: (used: number | undefined) => void
}

/** What the access line says of an admitted request's limits: within them, or admitted despite one. */
export type AdmittedAs = 'allowed' | Exclude<LimitDecision, 'limited'>

export type Verdict = { ok: true, as: AdmittedAs, reservation?: Reservation | undefined } | { ok: false, refusal: Refusal }

export interface GovernorDeps {
  /** The shared store, when configured. */
  store?: Store | undefined
  local: LocalLimiter
  count: (scope: Scope, decision: LimitDecision) => void
  /** Told when a reconciliation could not be written (for a debug log). */
  lost?: (reason: string) => void
}

export interface Governor {
  admit: (req: LimitRequest) => Promise<Verdict>
}

const LIMIT_NAME: Record<Window, string> = {
  second: 'requestsPerSecond',
  minute: 'requestsPerMinute',
  tokensMinute: 'tokensPerMinute',
  tokensDay: 'tokensPerDay'
}

export function createGovernor (deps: GovernorDeps): Governor {
  /** Where a decision was made, so its reconciliation goes to the same place. */
  type Place = 'store' | 'local'

  async function admit (req: LimitRequest): Promise<Verdict> {
    const callerLimits = req.caller.limits
    const endpointLimits = req.endpoint?.limits
    const specs = [
      ...bucketsFor('caller', req.caller.name, callerLimits, req.tokens),
      ...(req.endpoint === undefined ? [] : bucketsFor('endpoint', req.endpoint.name, endpointLimits, req.tokens))
    ]
    if (specs.length === 0) return { ok: true, as: 'allowed' }
    let fellBack = false
    let decision: Decision
    let decided: BucketSpec[] = specs
    let place: Place = 'local'
    const store = deps.store
    if (store === undefined) {
      decision = deps.local.decide(specs)
    } else {
      try {
        decision = await store.decide(specs, false)
        place = 'store'
      } catch {
        const fallback = storeFallback(req, store.replicas())
        if (fallback.closed !== undefined) return { ok: false, refusal: fallback.closed }
        decided = fallback.specs
        decision = deps.local.decide(decided)
        fellBack = true
      }
    }
    const verdict = interpret(req, decided, decision.outcomes, decision.admitted)
    if (verdict.ok && fellBack && verdict.as === 'allowed') verdict.as = 'store_fallback'
    if (!verdict.ok || req.tokens === undefined) return verdict
    const debited = decided.filter((s, i) => (s.window === 'tokensMinute' || s.window === 'tokensDay') && decision.outcomes[i]?.fits === true)
    if (debited.length === 0) return verdict
    return { ok: true, as: verdict.as, reservation: reservation(req.tokens, debited, place) }
  }

  /**
   * The buckets to decide locally when the store fails, by each scope's onStoreFailure: local
   * spreads the limit over the replicas last seen; open drops the scope; closed refuses.
   */
  function storeFallback (req: LimitRequest, replicas: number): { specs: BucketSpec[], closed?: Refusal } {
    const specs: BucketSpec[] = []
    const scopes: Array<[Scope, string, Limits | undefined]> = [['caller', req.caller.name, req.caller.limits]]
    if (req.endpoint !== undefined) scopes.push(['endpoint', req.endpoint.name, req.endpoint.limits])
    for (const [scope, name, limits] of scopes) {
      const own = bucketsFor(scope, name, limits, req.tokens, replicas)
      if (own.length === 0) continue
      deps.count(scope, 'store_fallback')
      const policy = limits?.onStoreFailure ?? 'local'
      if (policy === 'closed' && limits?.mode !== 'shadow') {
        return {
          specs,
          closed: {
            scope,
            limit: 'store',
            message: `${scope === 'caller' ? `caller '${name}'` : `endpoint '${name}'`}: limits cannot be checked now (shared store unavailable)`,
            headers: { 'retry-after': '1' }
          }
        }
      }
      if (policy === 'local') specs.push(...own)
    }
    return { specs }
  }

  /** Counts the decision per scope and builds the refusal of the first enforced bucket that refused. */
  function interpret (req: LimitRequest, specs: readonly BucketSpec[], outcomes: readonly BucketOutcome[], admitted: boolean): Verdict {
    const shadowed = new Set<Scope>()
    let refusing: number | undefined
    specs.forEach((s, i) => {
      if (outcomes[i]?.fits !== false) return
      if (s.shadow) shadowed.add(s.scope)
      else refusing ??= i
    })
    for (const scope of shadowed) deps.count(scope, 'shadow_limited')
    if (admitted || refusing === undefined) return { ok: true, as: shadowed.size > 0 ? 'shadow_limited' : 'allowed' }
    const spec = specs[refusing] as BucketSpec
    deps.count(spec.scope, 'limited')
    const name = spec.scope === 'caller' ? req.caller.name : req.endpoint?.name ?? ''
    const limits = spec.scope === 'caller' ? req.caller.limits : req.endpoint?.limits
    const limit = LIMIT_NAME[spec.window]
    const who = spec.scope === 'caller' ? `caller '${name}' is over its ${limit} limit` : `endpoint '${name}' is over its ${limit} limit (all callers together)`
    return {
      ok: false,
      refusal: {
        scope: spec.scope,
        limit,
        message: who,
        headers: rateLimitHeaders(specs, outcomes, refusing, limits, req.tokens !== undefined)
      }
    }
  }

  function reservation (tokens: number, specs: BucketSpec[], place: Place): Reservation {
    let settled = false
    return {
      tokens,
      settle (used) {
        if (settled || used === undefined) return
        settled = true
        // Each bucket is trued up from what it was debited (a reservation is capped at each
        // bucket's capacity, so two buckets may have been debited differently).
        const adjust = specs.map(s => ({ ...s, cost: used - s.cost })).filter(s => s.cost !== 0)
        if (adjust.length === 0) return
        if (place === 'local') {
          deps.local.decide(adjust, true)
          return
        }
        // Off the request path: the answer is already out. A store that fails now loses this
        // correction (the reservation stands), which errs on the side of the budget.
        deps.store?.decide(adjust, true, 'reconcile').catch((err: unknown) => { deps.lost?.((err as Error).message) })
      }
    }
  }

  return { admit }
}

/**
 * The 429's headers: Retry-After (whole seconds, at least 1) and the x-ratelimit-* headers OpenAI
 * clients read, for the refusing scope: requests as requests per minute (requestsPerMinute, or
 * requestsPerSecond × 60), tokens (OpenAI routes) as tokensPerMinute; reset is the time until the
 * bucket is full again.
 */
export function rateLimitHeaders (specs: readonly BucketSpec[], outcomes: readonly BucketOutcome[], refusing: number, limits: Limits | undefined, tokens: boolean): Record<string, string> {
  const spec = specs[refusing] as BucketSpec
  const wait = outcomes[refusing]?.waitMs ?? 1000
  const headers: Record<string, string> = { 'retry-after': String(Math.max(1, Math.ceil(wait / 1000))) }
  const find = (window: Window): number => specs.findIndex(s => s.scope === spec.scope && s.window === window)
  const rpm = limits?.requestsPerMinute ?? (limits?.requestsPerSecond === undefined ? undefined : limits.requestsPerSecond * 60)
  const requestWindow = limits?.requestsPerMinute !== undefined ? find('minute') : find('second')
  if (rpm !== undefined && requestWindow !== -1) {
    const level = outcomes[requestWindow]?.level ?? 0
    headers['x-ratelimit-limit-requests'] = String(Math.round(rpm))
    headers['x-ratelimit-remaining-requests'] = String(Math.max(0, Math.floor(level)))
    headers['x-ratelimit-reset-requests'] = duration(msToFull(specs[requestWindow] as BucketSpec, level))
  }
  const tokenWindow = find('tokensMinute')
  if (tokens && limits?.tokensPerMinute !== undefined && tokenWindow !== -1) {
    const level = outcomes[tokenWindow]?.level ?? 0
    headers['x-ratelimit-limit-tokens'] = String(limits.tokensPerMinute)
    headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, Math.floor(level)))
    headers['x-ratelimit-reset-tokens'] = duration(msToFull(specs[tokenWindow] as BucketSpec, level))
  }
  return headers
}

/** A duration as OpenAI writes it: `250ms`, `1.5s`, `61s`. */
export function duration (ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`
  return `${Math.round(ms / 100) / 10}s`
}
