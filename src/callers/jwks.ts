// Where JWT signing keys come from: the identity provider's JWKS URL, or a JWKS file on disk.
import { readFileSync } from 'node:fs'
import type { Logger } from 'pino'
import { createLocalJWKSet, createRemoteJWKSet, customFetch, type FetchImplementation, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose'
import { ConfigError, KeysUnavailable } from '../errors.js'
import { CONTROL_BODY_LIMIT, readLimited, type ByteSource } from '../io/read-limited.js'

export type { FetchImplementation } from 'jose'

// The token's own fault: no key for its kid/alg. Anything else a resolver throws means "no keys".
const TOKEN_FAULTS = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'ERR_JOSE_NOT_SUPPORTED'])

export interface RemoteJwksOptions {
  url: string
  /** fetch for the JWKS (e.g. one bound to an undici dispatcher); default: global fetch. */
  fetch?: FetchImplementation | undefined
  /** Timeout of one JWKS fetch; default 5000 ms. */
  timeoutMs?: number | undefined
}

/**
 * The IdP's keys, fetched on first use and cached by jose: refetched when older than 10 min,
 * or on an unknown `kid` at most every 30 s (key rotation), one fetch in flight at a time.
 * jose refuses redirects, so the URL configured is the only host ever asked.
 */
export function remoteJwks (opts: RemoteJwksOptions): JWTVerifyGetKey {
  const jwks = createRemoteJWKSet(new URL(opts.url), {
    timeoutDuration: opts.timeoutMs ?? 5000,
    [customFetch]: limitedFetch(opts.fetch ?? fetch)
  })
  return guard(jwks, 'identity provider keys unavailable')
}

/**
 * `inner`, with the answer's body capped at 1 MiB: an identity provider (or whatever answers at
 * its URL) cannot make the gateway hold an endless key set in memory.
 */
export function limitedFetch (inner: FetchImplementation): FetchImplementation {
  return async (url, init) => {
    const res = await inner(url, init)
    if (res.body === null) return res
    const text = await readLimited(res.body as unknown as ByteSource, CONTROL_BODY_LIMIT)
    return new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers })
  }
}

export interface FileJwksOptions {
  path: string
  now: () => number
  /** Reads the file; default fs.readFileSync(path, 'utf8'). */
  readFile?: ((path: string) => string) | undefined
  /** Least time between two reads of the file; default 5000 ms. */
  recheckMs?: number | undefined
  log?: Pick<Logger, 'warn'> | undefined
}

/**
 * Keys from a JWKS file, read now (a missing or invalid file is a start-up error) and re-read
 * at most every recheckMs while requests arrive, so a rotated secret mount is picked up without
 * a restart. The read is synchronous on purpose: a JWKS is a few KB, read once per interval,
 * and there is then no timer to own. A bad new version is logged once and the last good keys
 * stay in use.
 */
export function fileJwks (opts: FileJwksOptions): JWTVerifyGetKey {
  const readFile = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'))
  const recheckMs = opts.recheckMs ?? 5000
  let text = read()
  let keys = parse(text)
  let checkedAt = opts.now()

  function read (): string {
    try {
      return readFile(opts.path)
    } catch (err) {
      throw new ConfigError(`auth.jwt.jwksFile: cannot read ${opts.path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    }
  }

  function parse (s: string): JWTVerifyGetKey {
    try {
      return createLocalJWKSet(JSON.parse(s) as JSONWebKeySet)
    } catch {
      throw new ConfigError(`auth.jwt.jwksFile: ${opts.path} is not a JSON Web Key Set`)
    }
  }

  function refresh (): void {
    const now = opts.now()
    if (now - checkedAt < recheckMs) return
    checkedAt = now
    try {
      const next = read()
      if (next === text) return
      text = next
      keys = parse(next)
    } catch (err) {
      // `text` already holds the bad version, so it is reported once, not at every recheck.
      opts.log?.warn({ err: { code: (err as { code?: string }).code, message: (err as Error).message } }, 'JWKS file not reloaded; keeping the previous keys')
    }
  }

  return guard(async (header, token) => {
    refresh()
    return await keys(header, token)
  }, 'identity provider keys unavailable')
}

function guard (resolve: JWTVerifyGetKey, message: string): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await resolve(header, token)
    } catch (err) {
      if (TOKEN_FAULTS.has((err as { code?: string }).code ?? '')) throw err
      throw new KeysUnavailable(message, { cause: err })
    }
  }
}
