// Caller authentication by JWT: signature, issuer, audience, expiry and algorithm, via jose.
import type { Logger } from 'pino'
import { decodeProtectedHeader, jwtVerify, type CryptoKey, type JWTVerifyGetKey, type JWTVerifyOptions, type ProtectedHeaderParameters } from 'jose'
import type { Config } from '../config/load.js'
import { jwksSource } from '../config/schema.js'
import { fileJwks, remoteJwks, type FetchImplementation } from './jwks.js'

/** `auth.jwt` of the config. */
export type JwtAuthConfig = NonNullable<Config['auth']['jwt']>

export interface JwtVerifierOptions {
  jwt: JwtAuthConfig
  /** Clock in ms since the epoch, for exp/nbf/iat and JWKS-file rechecks. */
  now: () => number
  /** fetch for `jwksUrl` (e.g. bound to an undici dispatcher); default: global fetch. */
  fetch?: FetchImplementation | undefined
  /** Reads `jwksFile`; default fs.readFileSync(path, 'utf8'). */
  readFile?: ((path: string) => string) | undefined
  /** Least time between two reads of `jwksFile`; default 5000 ms. */
  jwksFileRecheckMs?: number | undefined
  /** Timeout of one `jwksUrl` fetch; default 5000 ms. */
  jwksTimeoutMs?: number | undefined
  log?: Pick<Logger, 'warn'> | undefined
}

/** A verified token's caller claim, or why it was refused (log-safe: never the token). */
export type JwtResult =
  | { ok: true, subject: string }
  | { ok: false, reason: string, unavailable?: true }

// Compact JWS: three base64url segments; the third is empty for an unsigned (alg "none") token,
// which must still reach jose to be refused as such, not be taken for a caller key.
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** The token's protected header when the value is JWT-shaped, else undefined (a caller key). */
export function jwtHeader (value: string): ProtectedHeaderParameters | undefined {
  if (!COMPACT.test(value)) return undefined
  try {
    const header = decodeProtectedHeader(value)
    return typeof header.alg === 'string' ? header : undefined
  } catch {
    return undefined
  }
}

export interface JwtVerifier {
  verify: (token: string) => Promise<JwtResult>
}

export function createJwtVerifier (opts: JwtVerifierOptions): JwtVerifier {
  const { jwt, now } = opts
  const source = jwksSource(jwt)
  const keys: JWTVerifyGetKey = 'url' in source
    ? remoteJwks({ url: source.url, fetch: opts.fetch, timeoutMs: opts.jwksTimeoutMs })
    : fileJwks({ path: source.file, now, readFile: opts.readFile, recheckMs: opts.jwksFileRecheckMs, log: opts.log })
  const claim = jwt.callerClaim

  async function verifyWith (token: string, key: JWTVerifyGetKey | CryptoKey) {
    const options: JWTVerifyOptions = {
      issuer: jwt.issuer,
      audience: jwt.audience,
      // An allow-list of asymmetric algorithms: refuses "none", and HS* signed with the public key.
      algorithms: jwt.algorithms,
      clockTolerance: jwt.clockToleranceSeconds,
      // A token without exp would be valid forever; one issued long ago (or in the future,
      // beyond the clock tolerance) is refused by its age, measured from iat.
      requiredClaims: ['exp', 'iat'],
      maxTokenAge: jwt.maxTokenAgeSeconds,
      currentDate: new Date(now())
    }
    return typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options)
  }

  return {
    async verify (token) {
      let payload: Record<string, unknown>
      try {
        payload = (await verifyWith(token, keys)).payload
      } catch (err) {
        const e = err as MultipleKeys
        if (e.code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') return refusal(err, token)
        // The JWKS has several keys fitting this alg and no kid to tell them apart: try each.
        let last: unknown = err
        for await (const key of e) {
          try {
            payload = (await verifyWith(token, key)).payload
            return subjectOf(payload)
          } catch (err2) {
            last = err2
          }
        }
        return refusal(last, token)
      }
      return subjectOf(payload)
    }
  }

  function subjectOf (payload: Record<string, unknown>): JwtResult {
    const subject = payload[claim]
    if (typeof subject !== 'string' || subject === '') return { ok: false, reason: `token has no '${claim}' claim` }
    return { ok: true, subject }
  }
}

type MultipleKeys = Error & { code?: string } & AsyncIterable<CryptoKey>

// jose's error codes, mapped to reasons a caller and a log may see.
function refusal (err: unknown, token: string): JwtResult {
  const e = err as { code?: string, claim?: string, reason?: string }
  switch (e.code) {
    case 'ROUTEGATE_ERR_JWKS_UNAVAILABLE':
      return { ok: false, reason: 'identity provider keys unavailable', unavailable: true }
    case 'ERR_JWT_EXPIRED':
      return { ok: false, reason: 'token expired' }
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.reason === 'missing') return { ok: false, reason: `token has no '${safe(e.claim)}' claim` }
      if (e.reason === 'check_failed') {
        if (e.claim === 'iss') return { ok: false, reason: 'token issuer not accepted' }
        if (e.claim === 'aud') return { ok: false, reason: 'token audience not accepted' }
        if (e.claim === 'nbf') return { ok: false, reason: 'token not yet valid' }
      }
      // reason 'invalid': a claim of the wrong type (e.g. a string exp).
      return { ok: false, reason: `token claim '${safe(e.claim)}' invalid` }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return { ok: false, reason: `token algorithm '${safe(jwtHeader(token)?.alg)}' not allowed` }
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return { ok: false, reason: 'token signature invalid' }
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return { ok: false, reason: 'token signed by an unknown key' }
    default:
      return { ok: false, reason: 'token malformed' }
  }
}

// Header and claim names come from the token: echo only short, plain ones.
function safe (s: string | undefined): string {
  return s !== undefined && /^[A-Za-z0-9_+-]{1,32}$/.test(s) ? s : '?'
}
