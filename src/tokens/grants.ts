// OAuth grants against a workspace token endpoint: one POST, a parsed token or a coded error.
import { request, type Dispatcher } from 'undici'
import { TokenEndpointError } from '../errors.js'
import { BodyTooLarge } from '../errors.js'
import { readFileBounded } from '../io/read-file.js'
import { readLimited } from '../io/read-limited.js'
import { cleanText, oauthCode } from './oauth-errors.js'
import type { Secret } from '../config/secret.js'
import { parseRetryAfter } from './policy.js'

export interface MintedToken {
  accessToken: string
  /** Lifetime from the response's expires_in, in milliseconds. */
  expiresInMs: number
}

export interface ClientCredentials {
  tokenUrl: string
  clientId: string
  clientSecret: Secret
}

export interface GrantOptions {
  dispatcher: Dispatcher
  timeoutMs: number
  now: () => number
  signal?: AbortSignal
}

/** The RFC 9396 authorization_details entry that scopes a token to one serving endpoint. */
export function servingAuthorizationDetails (endpointId: string, action: string): string {
  return JSON.stringify([{
    type: 'workspace_permission',
    object_type: 'serving-endpoints',
    object_path: `/serving-endpoints/${endpointId}`,
    actions: [action]
  }])
}

/**
 * client_credentials with HTTP Basic client auth and scope=all-apis, optionally scoped by
 * authorization_details. Id and secret are form-urlencoded before base64 (RFC 6749 §2.3.1),
 * as the Databricks JS and Go SDKs do.
 */
export async function clientCredentialsGrant (creds: ClientCredentials, authorizationDetails: string | undefined, opts: GrantOptions): Promise<MintedToken> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', scope: 'all-apis' })
  if (authorizationDetails !== undefined) form.set('authorization_details', authorizationDetails)
  const secret = creds.clientSecret.reveal()
  const basic = Buffer.from(`${encodeURIComponent(creds.clientId)}:${encodeURIComponent(secret)}`).toString('base64')
  return await postTokenForm(creds.tokenUrl, form, { authorization: `Basic ${basic}` }, opts, [secret, basic])
}

/**
 * The SDKs' data-plane exchange (docs/databricks-protocol.md §3): a workspace token as the jwt-bearer
 * assertion, scoped by authorization_details, with no client authentication.
 */
export async function tokenExchangeGrant (tokenUrl: string, assertion: string, authorizationDetails: string, opts: GrantOptions): Promise<MintedToken> {
  const form = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion,
    authorization_details: authorizationDetails
  })
  return await postTokenForm(tokenUrl, form, {}, opts, [assertion])
}

// RFC 6750 §2.1 b64token: what a bearer token may be made of (CR, LF, spaces, non-latin1 never).
const BEARER = /^[A-Za-z0-9._~+/-]+=*$/
const MAX_TOKEN_CHARS = 64 * 1024
/** A lifetime above this is cut to it: a token "valid for ever" is a mistake, not a feature. */
export const MAX_LIFETIME_MS = 24 * 3600_000

/**
 * POSTs a token request and checks the answer. `secrets` are masked in whatever of the
 * endpoint's own words reach the log (the secret and the Basic credential, the assertion).
 */
async function postTokenForm (url: string, form: URLSearchParams, headers: Record<string, string>, opts: GrantOptions, secrets: readonly string[]): Promise<MintedToken> {
  let res: Dispatcher.ResponseData
  try {
    res = await request(url, {
      method: 'POST',
      dispatcher: opts.dispatcher,
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      signal: opts.signal
    })
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as Error).name
    const transport = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'TimeoutError' || code === 'AbortError' ? 'TIMEOUT' : cleanText(String(code), [])
    throw new TokenEndpointError(`token endpoint request failed (${transport})`, { reason: 'temporarily_unavailable', transport, cause: err })
  }
  let text: string
  try {
    text = await readLimited(res.body)
  } catch (err) {
    const tooLarge = err instanceof BodyTooLarge
    throw new TokenEndpointError(tooLarge ? `token endpoint answer is larger than ${err.limit} bytes` : 'token endpoint answer broke off',
      { reason: tooLarge ? 'invalid_response' : 'temporarily_unavailable', status: res.statusCode, cause: err })
  }
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    // A proxy's error page in front of the token endpoint: transient when it says 5xx.
    const reason = res.statusCode >= 500 || res.statusCode === 429 ? oauthCode(undefined, res.statusCode) : 'invalid_response'
    throw new TokenEndpointError(`token endpoint answered ${res.statusCode} without JSON`,
      { reason, status: res.statusCode, retryAfterMs: retryAfter(res, opts.now) })
  }
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
  if (res.statusCode >= 400 || typeof b.error === 'string' || typeof b.errorCode === 'string') {
    const reason = oauthCode(b.error ?? b.errorCode, res.statusCode)
    const said = [b.error ?? b.errorCode, b.error_description].filter(x => typeof x === 'string').join(': ')
    throw new TokenEndpointError(`token endpoint answered ${res.statusCode} ${reason}${said === '' ? '' : ` (it said: ${cleanText(said, secrets)})`}`,
      { reason, status: res.statusCode, retryAfterMs: retryAfter(res, opts.now) })
  }
  const token = b.access_token
  const expiresIn = typeof b.expires_in === 'number' ? b.expires_in : typeof b.expires_in === 'string' && /^\d+(\.\d+)?$/.test(b.expires_in) ? Number(b.expires_in) : NaN
  if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS || !BEARER.test(token)) {
    throw new TokenEndpointError('token endpoint answer has no usable access_token (empty, too long, or characters a bearer token cannot have)', { reason: 'invalid_response', status: res.statusCode })
  }
  // Under a second is no lifetime a token can be used for (it would be refetched in a loop), and
  // no token endpoint means it; a few seconds is short but valid (the broker scales its windows).
  if (!Number.isFinite(expiresIn) || expiresIn < MIN_EXPIRES_IN_S) {
    throw new TokenEndpointError(`token endpoint answer has no finite expires_in of at least ${MIN_EXPIRES_IN_S} s`, { reason: 'invalid_response', status: res.statusCode })
  }
  return { accessToken: token, expiresInMs: Math.min(expiresIn * 1000, MAX_LIFETIME_MS) }
}

/** The shortest token lifetime accepted, in seconds. */
export const MIN_EXPIRES_IN_S = 1

function retryAfter (res: Dispatcher.ResponseData, now: () => number): number | undefined {
  const h = res.headers['retry-after']
  return parseRetryAfter(Array.isArray(h) ? h[0] : h, now())
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt'
/** A subject token file larger than this is not a JWT. */
const MAX_SUBJECT_TOKEN_BYTES = 64 * 1024

/**
 * Workload identity federation (RFC 8693): the identity provider's JWT, read from
 * `subjectTokenFile` at every exchange (Kubernetes rotates projected tokens in place), is
 * exchanged for an unscoped workspace token. No client secret anywhere.
 */
export async function federationGrant (tokenUrl: string, subjectTokenFile: string, clientId: string | undefined, opts: GrantOptions): Promise<MintedToken> {
  let subject: string
  const started = opts.now()
  try {
    // Bounded in time by the fetch's own budget (a FIFO or a stuck mount must not hold the fetch,
    // and so /readyz, forever) and in size (io/read-file.ts).
    subject = (await readFileBounded(subjectTokenFile, { maxBytes: MAX_SUBJECT_TOKEN_BYTES, timeoutMs: opts.timeoutMs })).toString('utf8').trim()
  } catch (err) {
    // Our side, not the endpoint's: a missing mount is as good as a bad credential until fixed.
    throw new TokenEndpointError(`cannot read the subject token file ${subjectTokenFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      { reason: 'invalid_client', transport: 'SUBJECT_TOKEN_FILE', cause: err })
  }
  // The read counted against fetchTimeoutMs: the exchange gets what is left of it.
  opts = { ...opts, timeoutMs: Math.max(1, opts.timeoutMs - (opts.now() - started)) }
  const form = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE,
    subject_token: subject,
    subject_token_type: JWT_TOKEN_TYPE,
    scope: 'all-apis'
  })
  if (clientId !== undefined) form.set('client_id', clientId)
  return await postTokenForm(tokenUrl, form, {}, opts, [subject])
}
