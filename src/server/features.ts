// The opt-in features of one config generation's endpoints (docs/beyond.md): each endpoint's
// response cache, shadow gate and hedge budget, built once per generation from its config.
import { ResponseCache } from '../cache/response-cache.js'
import type { EndpointConfig } from '../config/load.js'
import { createHedgeBudget, type HedgeBudget } from '../proxy/hedge-budget.js'
import { createShadowGate, type ShadowGate } from '../proxy/shadow-gate.js'

export interface EndpointFeatures {
  cache: { store: ResponseCache, perCaller: boolean } | undefined
  shadow: { to: string, gate: ShadowGate } | undefined
  hedge: HedgeBudget | undefined
  fallback: readonly string[]
}

export interface FeatureDeps {
  /** Monotonic clock in ms. */
  now: () => number
  random?: () => number
}

/** Features per endpoint name; endpoints that use none are absent. */
export function buildFeatures (endpoints: readonly EndpointConfig[], deps: FeatureDeps): ReadonlyMap<string, EndpointFeatures> {
  const out = new Map<string, EndpointFeatures>()
  for (const e of endpoints) {
    if (e.cache === undefined && e.shadow === undefined && e.hedge === undefined && e.fallback === undefined) continue
    out.set(e.name, {
      cache: e.cache === undefined
        ? undefined
        : {
            store: new ResponseCache({ ttlMs: e.cache.ttlMs, maxEntries: e.cache.maxEntries, maxBytes: e.cache.maxBytes, maxEntryBytes: e.cache.maxEntryBytes, now: deps.now }),
            perCaller: e.cache.perCaller
          },
      shadow: e.shadow === undefined
        ? undefined
        : { to: e.shadow.endpoint, gate: createShadowGate({ ...e.shadow, ...(deps.random === undefined ? {} : { random: deps.random }) }) },
      hedge: e.hedge === undefined ? undefined : createHedgeBudget({ after: e.hedge.afterMs, maxPercent: e.hedge.maxPercent, now: deps.now }),
      fallback: e.fallback ?? []
    })
  }
  return out
}
