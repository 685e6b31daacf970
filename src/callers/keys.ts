// Caller authentication by API key: sha256 of the presented key against configured digests.
import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { CallerConfig } from '../config/load.js'
import { toCaller, type Caller } from './caller.js'

export type { Caller } from './caller.js'

export function sha256Hex (key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

/** The credential of an `Authorization: Bearer <value>` header (scheme case-insensitive, RFC 9110 §11.1). */
export function bearerValue (authorization: string): string | undefined {
  return /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(authorization)?.[1]
}

export interface KeyMatch {
  caller: Caller
  /** Position of the matching digest in the caller's keySha256 list: tells rotated keys apart in logs. */
  keyIndex: number
}

export interface KeyTable {
  /** The caller holding this key, or undefined. */
  lookup: (key: string) => KeyMatch | undefined
}

/**
 * Every configured digest, each pointing at its caller (several per caller during a rotation),
 * in a map keyed by the digest: one hash and one look-up per request, however many callers.
 * `callersByName` lets the authenticator share one Caller object per name across methods.
 *
 * A map look-up is not a constant-time comparison, and need not be: what is compared is the
 * sha256 of the presented key, so timing could at most tell an attacker about digest bits of
 * keys they made up, and a preimage of a configured digest cannot be found from that.
 */
export function createKeyTable (callers: readonly CallerConfig[], callersByName?: ReadonlyMap<string, Caller>): KeyTable {
  const table = new Map<string, KeyMatch>()
  for (const c of callers) {
    const caller = callersByName?.get(c.name) ?? toCaller(c)
    for (const [keyIndex, hex] of c.keySha256.entries()) table.set(hex.toLowerCase(), { caller, keyIndex })
  }
  const lookup = (key: string): KeyMatch | undefined => table.get(createHash('sha256').update(key).digest('hex'))
  return {
    lookup: cachedMatches(lookup, { max: Math.max(1, Math.min(table.size, MATCH_CACHE_MAX)), maxKeyLength: MATCH_CACHE_KEY_LENGTH })
  }
}

/** At most this many remembered keys per key table, however many digests are configured. */
const MATCH_CACHE_MAX = 100_000
/** Longer keys are hashed every time (generated keys are 40-some characters). */
const MATCH_CACHE_KEY_LENGTH = 256

/**
 * `lookup`, remembering the keys that matched, so a known caller's key is hashed once rather
 * than on every request (sha256 was a visible share of a request's CPU). Only matches are kept:
 * a key that matches no digest (an attacker's guesses) is hashed every time and never stored,
 * so what is held is bounded by the configured digests (each has one known preimage), by `max`
 * and by `maxKeyLength`. The keys live only in this closure's LRU: nothing exposes, iterates or
 * logs it, and a reload builds a new table and drops the old one with its cache.
 *
 * A hit compares the presented key with a remembered one (a Map look-up): its timing could at
 * most tell whether a guess shares the engine's 32-bit string hash and then a prefix with a
 * valid key, which takes a valid key's hash to exploit in the first place.
 */
export function cachedMatches<T extends object> (lookup: (key: string) => T | undefined, opts: { max: number, maxKeyLength: number }): (key: string) => T | undefined {
  const known = new LRUCache<string, T>({ max: opts.max })
  return (key) => {
    const hit = known.get(key)
    if (hit !== undefined) return hit
    const found = lookup(key)
    if (found !== undefined && key.length <= opts.maxKeyLength) known.set(key, found)
    return found
  }
}
