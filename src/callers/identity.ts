// Who is calling: one authenticator over API keys, JWTs and client certificates (mTLS).
import type { IncomingHttpHeaders } from 'node:http'
import type { Logger } from 'pino'
import type { CallerConfig } from '../config/load.js'
import { ConfigError } from '../errors.js'
import { toCaller, type Caller } from './caller.js'
import type { FetchImplementation } from './jwks.js'
import { createJwtVerifier, jwtHeader, type JwtAuthConfig, type JwtVerifier } from './jwt.js'
import { bearerValue, createKeyTable, type KeyTable } from './keys.js'
import { matchesSubject, peerNames, type RequestSocket } from './mtls.js'

export type { Caller } from './caller.js'
export type { JwtAuthConfig } from './jwt.js'
export type { RequestSocket } from './mtls.js'

export type AuthVia = 'key' | 'jwt' | 'mtls'

/**
 * The outcome of authentication. `keyIndex` (API keys only) is the position of the matching
 * digest in the caller's `keySha256` list: log it to see when a rotated-out key stops being
 * used. `reason` is safe to log and to send in a 401: it never holds the credential.
 * `unavailable` marks a failure that is not the caller's (the identity provider's keys could
 * not be fetched): answer 503, not 401.
 */
export type AuthResult =
  | { ok: true, caller: Caller, via: AuthVia, keyIndex?: number }
  | { ok: false, reason: string, unavailable?: true }

export interface AuthRequest {
  headers: IncomingHttpHeaders
  /** The request's socket (`request.raw.socket`); a verified TLS client certificate can name the caller. */
  socket?: RequestSocket | undefined
}

export interface AuthenticatorOptions {
  /** The configured callers (`Config.callers`). */
  callers: readonly CallerConfig[]
  /** `auth.jwt` of the config; without it no JWT is accepted. */
  jwt?: JwtAuthConfig | undefined
  /** Clock in ms since the epoch (token expiry, JWKS-file rechecks); default Date.now. */
  now?: (() => number) | undefined
  /** fetch for `auth.jwt.jwksUrl` (e.g. bound to an undici dispatcher); default: global fetch. */
  fetch?: FetchImplementation | undefined
  /** Reads `auth.jwt.jwksFile`; default fs.readFileSync(path, 'utf8'). */
  readFile?: ((path: string) => string) | undefined
  /** Least time between two reads of `auth.jwt.jwksFile`; default 5000 ms. */
  jwksFileRecheckMs?: number | undefined
  /** Timeout of one `auth.jwt.jwksUrl` fetch; default 5000 ms. */
  jwksTimeoutMs?: number | undefined
  /** Warnings that concern the operator, not a request (a bad JWKS file version). */
  log?: Pick<Logger, 'warn'> | undefined
}

/**
 * Precedence: an explicit credential (`Authorization`, else `X-Api-Key`) decides alone, and a
 * wrong one is refused even when the connection carries a valid client certificate; the
 * certificate names the caller only when no credential header is sent. That way a client that
 * holds both cannot be silently downgraded, and a leaked key is not masked by a cert.
 */
export class Authenticator {
  readonly #keys: KeyTable
  readonly #jwt: JwtVerifier | undefined
  readonly #bySubject = new Map<string, Caller>()
  readonly #mtls: Array<{ subject: string, caller: Caller }> = []

  constructor (opts: AuthenticatorOptions) {
    const byName = new Map(opts.callers.map(c => [c.name, toCaller(c)] as const))
    this.#keys = createKeyTable(opts.callers, byName)
    for (const [i, c] of opts.callers.entries()) {
      const caller = byName.get(c.name) as Caller
      if (opts.jwt !== undefined) {
        for (const s of c.jwtSubjects) {
          const other = this.#bySubject.get(s)
          if (other !== undefined && other !== caller) throw new ConfigError(`callers[${i}].jwtSubjects: '${s}' already names caller '${other.name}'`)
          this.#bySubject.set(s, caller)
        }
      }
      for (const s of c.mtlsSubjects) {
        const other = this.#mtls.find(m => m.subject === s)
        if (other !== undefined) throw new ConfigError(`callers[${i}].mtlsSubjects: '${s}' already names caller '${other.caller.name}'`)
        this.#mtls.push({ subject: s, caller })
      }
    }
    this.#jwt = opts.jwt === undefined
      ? undefined
      : createJwtVerifier({
        jwt: opts.jwt,
        now: opts.now ?? Date.now,
        fetch: opts.fetch,
        readFile: opts.readFile,
        jwksFileRecheckMs: opts.jwksFileRecheckMs,
        jwksTimeoutMs: opts.jwksTimeoutMs,
        log: opts.log
      })
  }

  async authenticate (req: AuthRequest): Promise<AuthResult> {
    const { headers } = req
    const authorization = headers.authorization
    if (typeof authorization === 'string' && authorization !== '') {
      const value = bearerValue(authorization)
      if (value === undefined) return { ok: false, reason: 'Authorization header must be "Bearer <credential>"' }
      return jwtHeader(value) === undefined ? this.#byKey(value) : await this.#byJwt(value)
    }
    const apiKey = headers['x-api-key']
    if (typeof apiKey === 'string' && apiKey !== '') return this.#byKey(apiKey)
    if (this.#mtls.length > 0) {
      const names = peerNames(req.socket)
      if (names !== undefined) return this.#byCert(names)
    }
    return { ok: false, reason: 'missing caller credentials' }
  }

  /** Nothing to release today (jose's JWKS cache holds no timer); part of the lifecycle contract. */
  close (): void {}

  #byKey (key: string): AuthResult {
    const m = this.#keys.lookup(key)
    return m === undefined ? { ok: false, reason: 'unknown caller key' } : { ok: true, caller: m.caller, via: 'key', keyIndex: m.keyIndex }
  }

  async #byJwt (token: string): Promise<AuthResult> {
    if (this.#jwt === undefined) {
      // Generated keys are never JWT-shaped, but one given to `hash-key KEY` might be.
      const byKey = this.#byKey(token)
      return byKey.ok ? byKey : { ok: false, reason: 'JWT credentials are not accepted (auth.jwt is not configured)' }
    }
    const r = await this.#jwt.verify(token)
    if (!r.ok) return r
    const caller = this.#bySubject.get(r.subject)
    if (caller === undefined) {
      const shown = /^[\x21-\x7e]{1,64}$/.test(r.subject) ? ` '${r.subject}'` : ''
      return { ok: false, reason: `token subject${shown} is not a configured caller` }
    }
    return { ok: true, caller, via: 'jwt' }
  }

  #byCert (names: ReturnType<typeof peerNames> & object): AuthResult {
    const found = new Set(this.#mtls.filter(m => matchesSubject(names, m.subject)).map(m => m.caller))
    if (found.size > 1) return { ok: false, reason: 'client certificate names more than one caller' }
    const [caller] = found
    return caller === undefined ? { ok: false, reason: 'client certificate names no configured caller' } : { ok: true, caller, via: 'mtls' }
  }
}

export function createAuthenticator (opts: AuthenticatorOptions): Authenticator {
  return new Authenticator(opts)
}
