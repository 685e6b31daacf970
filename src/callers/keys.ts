// Caller authentication by API key: sha256 of the presented key against configured digests.
import { createHash } from 'node:crypto'
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
  return {
    lookup: (key) => table.get(createHash('sha256').update(key).digest('hex'))
  }
}
