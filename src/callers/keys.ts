// Caller authentication by API key: sha256 of the presented key against configured digests.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { CallerConfig } from '../config/load.js'

export interface Caller {
  name: string
  /** Endpoint names this caller may use; '*' means all. */
  endpoints: ReadonlySet<string>
}

export interface CallerAuth {
  /** The caller whose key these headers carry, or undefined for none or an unknown key. */
  authenticate: (headers: IncomingHttpHeaders) => Caller | undefined
}

export function sha256Hex (key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

/** The key from `Authorization: Bearer <key>` (OpenAI-style clients) or `X-Api-Key`. */
export function presentedKey (headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization
  if (typeof auth === 'string' && auth !== '') {
    const m = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(auth)
    return m?.[1]
  }
  const apiKey = headers['x-api-key']
  return typeof apiKey === 'string' && apiKey !== '' ? apiKey : undefined
}

export function createCallerAuth (callers: readonly CallerConfig[]): CallerAuth {
  const table = callers.flatMap(c => {
    const caller: Caller = { name: c.name, endpoints: new Set(c.endpoints) }
    return c.keySha256.map(hex => ({ digest: Buffer.from(hex, 'hex'), caller }))
  })
  return {
    authenticate (headers) {
      const key = presentedKey(headers)
      if (key === undefined) return undefined
      const digest = createHash('sha256').update(key).digest()
      // Compare against every digest without stopping early, so timing says nothing of the key.
      let found: Caller | undefined
      for (const row of table) {
        if (timingSafeEqual(row.digest, digest) && found === undefined) found = row.caller
      }
      return found
    }
  }
}

export function mayUse (caller: Caller, endpoint: string): boolean {
  return caller.endpoints.has('*') || caller.endpoints.has(endpoint)
}
