// The response cache of one endpoint: whole 200 JSON answers kept in memory by the exact body
// bytes the endpoint would get (and the caller, when per caller), bounded by entries, total bytes
// and age (lru-cache's own max, maxSize and ttl), with one upstream request for concurrent misses
// of one key (docs/beyond.md "Cache").
import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'

/** An answer as it is stored and replayed: the status is always 200. */
export interface CachedAnswer {
  /** The content type the endpoint gave (the only upstream header a hit repeats). */
  contentType: string
  body: Buffer
}

export interface ResponseCacheOptions {
  /** How long an entry may answer, from when it was stored. */
  ttlMs: number
  /** Most entries held. */
  maxEntries: number
  /** Most body bytes held in all (an entry's key and bookkeeping count as a small constant). */
  maxBytes: number
  /** Largest answer body stored; a larger one is passed on and not kept. */
  maxEntryBytes: number
  /** Monotonic clock in ms (lru-cache's own is performance.now). */
  now?: () => number
}

/**
 * What a look-up tells the request: `hit` (answer from memory), `miss` (this request goes
 * upstream and must `settle` what it got, cacheable or not), or `coalesced` (another request is
 * fetching this key: wait for it; undefined means go upstream yourself).
 */
export type Lookup =
  | { result: 'hit', answer: CachedAnswer }
  | { result: 'miss', settle: (answer: CachedAnswer | undefined) => void }
  | { result: 'coalesced', wait: Promise<CachedAnswer | undefined> }

/** Bytes an entry costs besides its body: key, content type and map bookkeeping, roughly. */
const ENTRY_OVERHEAD = 256

/** The cache key: endpoint, caller (when per caller) and the sha256 of the body bytes. */
export function cacheKey (endpoint: string, caller: string | undefined, body: Buffer): string {
  const digest = createHash('sha256').update(body).digest('base64')
  // Names cannot hold a NUL: the parts cannot run into each other.
  return caller === undefined ? `${endpoint}\0\0${digest}` : `${endpoint}\0${caller}\0${digest}`
}

/**
 * Whether the caller asked not to be answered from a cache: `Cache-Control: no-cache` or
 * `no-store` (RFC 9111 §5.2.1), in any of its field lines.
 */
export function bypasses (cacheControl: string | string[] | undefined): boolean {
  if (cacheControl === undefined) return false
  const value = Array.isArray(cacheControl) ? cacheControl.join(',') : cacheControl
  return /(?:^|,)\s*no-(?:cache|store)\s*(?:[,=]|$)/i.test(value)
}

const JSON_TYPE = /^\s*application\/(?:[A-Za-z0-9.+-]*\+)?json\s*(?:;|$)/i

/**
 * Whether an upstream answer may be stored: status 200, a JSON content type, no content coding
 * (a hit is replayed to callers that may not accept one), no Set-Cookie, and a body that ended
 * whole within `maxEntryBytes`. Never an event stream (its type is not JSON).
 */
export function storable (status: number, headers: Record<string, string | string[] | undefined>, bytes: number, maxEntryBytes: number): boolean {
  if (status !== 200 || bytes > maxEntryBytes) return false
  const type = headers['content-type']
  if (typeof type !== 'string' || !JSON_TYPE.test(type)) return false
  const coding = headers['content-encoding']
  if (coding !== undefined && String(coding).trim().toLowerCase() !== 'identity') return false
  if (headers['set-cookie'] !== undefined) return false
  const cc = headers['cache-control']
  return cc === undefined || !/(?:^|,)\s*(?:no-store|private)\b/i.test(String(cc))
}

export class ResponseCache {
  readonly #entries: LRUCache<string, CachedAnswer>
  readonly #inflight = new Map<string, Promise<CachedAnswer | undefined>>()
  readonly maxEntryBytes: number

  constructor (opts: ResponseCacheOptions) {
    for (const k of ['ttlMs', 'maxEntries', 'maxBytes', 'maxEntryBytes'] as const) {
      if (!Number.isInteger(opts[k]) || opts[k] < 1) throw new TypeError(`ResponseCache: ${k} must be a positive integer`)
    }
    this.maxEntryBytes = opts.maxEntryBytes
    const now = opts.now
    this.#entries = new LRUCache<string, CachedAnswer>({
      max: opts.maxEntries,
      maxSize: opts.maxBytes,
      sizeCalculation: (a) => a.body.length + ENTRY_OVERHEAD,
      ttl: opts.ttlMs,
      // Expired entries are dropped when read, not by timers (one timer per entry would cost more).
      ttlAutopurge: false,
      // An injected clock is read on every look-up (lru-cache otherwise caches it for 1 ms by a timer).
      ...(now === undefined ? {} : { perf: { now }, ttlResolution: 0 })
    })
  }

  /** Entries held now (expired ones not yet read may still count). */
  get size (): number { return this.#entries.size }
  /** Bytes held now, as counted against maxBytes. */
  get bytes (): number { return this.#entries.calculatedSize }
  /** Keys being fetched right now. */
  get pending (): number { return this.#inflight.size }

  lookup (key: string): Lookup {
    const answer = this.#entries.get(key)
    if (answer !== undefined) return { result: 'hit', answer }
    const wait = this.#inflight.get(key)
    if (wait !== undefined) return { result: 'coalesced', wait }
    let done!: (a: CachedAnswer | undefined) => void
    this.#inflight.set(key, new Promise(resolve => { done = resolve }))
    let settled = false
    return {
      result: 'miss',
      settle: (a) => {
        if (settled) return
        settled = true
        this.#inflight.delete(key)
        // An answer too large for the byte budget is not stored (lru-cache would refuse it anyway).
        if (a !== undefined && a.body.length <= this.maxEntryBytes) this.#entries.set(key, a)
        done(a)
      }
    }
  }
}
