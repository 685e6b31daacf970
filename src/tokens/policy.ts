// When a token is fresh, stale (refresh ahead, still served) or unusable (never sent).
// Rules from docs/tokens.md "Tokens": stale once less than min(20 min, half its lifetime) remains,
// minus a random jitter so replicas do not refresh in step; unusable once less than
// min(40 s, a tenth of its lifetime) remains (Databricks rejects tokens expiring within 30 s:
// docs/databricks-protocol.md §4).

export interface HeldToken {
  value: string
  obtainedAt: number
  expiresAt: number
  staleAt: number
  unusableAt: number
}

const MAX_STALE_WINDOW_MS = 20 * 60_000
const MAX_UNUSABLE_WINDOW_MS = 40_000

export function holdToken (value: string, obtainedAt: number, expiresInMs: number, jitterMs: number): HeldToken {
  const lifetime = Math.max(0, expiresInMs)
  const expiresAt = obtainedAt + lifetime
  const unusableAt = expiresAt - Math.min(MAX_UNUSABLE_WINDOW_MS, lifetime / 10)
  // The jitter never pulls the refresh point before the token was obtained or past half its life.
  const jitter = Math.min(Math.max(0, jitterMs), lifetime / 10)
  const staleAt = Math.max(obtainedAt, expiresAt - Math.min(MAX_STALE_WINDOW_MS, lifetime / 2) - jitter)
  return { value, obtainedAt, expiresAt, staleAt, unusableAt }
}

export interface BackoffPolicy {
  /** First retry delay after a transient failure. */
  baseMs: number
  /** Largest delay between attempts after transient failures. */
  maxMs: number
  /** Delay after a credential or permission error (bad secret): slow, never hot. */
  credentialMs: number
  /** Largest delay after repeated credential errors. */
  credentialMaxMs: number
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 60_000, credentialMs: 30_000, credentialMaxMs: 300_000 }

/** Full-jitter-ish exponential backoff: between half and all of the capped exponential delay. */
export function backoffDelay (failures: number, credential: boolean, policy: BackoffPolicy, random: () => number): number {
  const base = credential ? policy.credentialMs : policy.baseMs
  const cap = credential ? policy.credentialMaxMs : policy.maxMs
  const exp = Math.min(cap, base * 2 ** Math.max(0, Math.min(failures - 1, 30)))
  return Math.round(exp * (0.5 + random() / 2))
}

/** Parses Retry-After (delta seconds or HTTP date, RFC 9110 §10.2.3) into milliseconds from now. */
export function parseRetryAfter (value: string | undefined, now: number): number | undefined {
  if (value === undefined || value === '') return undefined
  const v = value.trim()
  if (/^\d+$/.test(v)) return Number(v) * 1000
  // RFC 9110 §5.6.7 HTTP-date only (IMF-fixdate, RFC 850, asctime), all in GMT: Date.parse alone
  // would take '1.5' or '-5' as dates, and an asctime date as local time.
  const imf = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(v) || /^[A-Za-z]+, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT$/.test(v)
  const asctime = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/.test(v)
  if (!imf && !asctime) return undefined
  const at = Date.parse(asctime ? `${v} GMT` : v)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}
