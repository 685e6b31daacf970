// Caller authentication by API key: sha256 of the presented key against configured digests.
import { createHash, timingSafeEqual } from 'node:crypto'
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
 * Every configured digest, each pointing at its caller (several per caller during a rotation).
 * `callersByName` lets the authenticator share one Caller object per name across methods.
 */
export function createKeyTable (callers: readonly CallerConfig[], callersByName?: ReadonlyMap<string, Caller>): KeyTable {
  const table = callers.flatMap(c => {
    const caller = callersByName?.get(c.name) ?? toCaller(c)
    return c.keySha256.map((hex, keyIndex) => ({ digest: Buffer.from(hex, 'hex'), match: { caller, keyIndex } }))
  })
  return {
    lookup (key) {
      const digest = createHash('sha256').update(key).digest()
      // Compare against every digest without stopping early, so timing says nothing of the key.
      let found: KeyMatch | undefined
      for (const row of table) {
        if (timingSafeEqual(row.digest, digest) && found === undefined) found = row.match
      }
      return found
    }
  }
}
