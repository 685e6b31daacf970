// OAuth grants against a workspace token endpoint: one POST, a parsed token or a coded error.
import { request, type Dispatcher } from 'undici'
import { TokenEndpointError } from '../errors.js'
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

/** Extra fields on TokenEndpointError: what the endpoint said, for backoff and readiness. */
export interface TokenErrorInfo {
  /** OAuth error code (e.g. invalid_client), or a transport code (e.g. ECONNREFUSED, TIMEOUT). */
  reason: string
  status?: number
  retryAfterMs?: number
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
  const basic = Buffer.from(`${encodeURIComponent(creds.clientId)}:${encodeURIComponent(creds.clientSecret.reveal())}`).toString('base64')
  return postTokenForm(creds.tokenUrl, form, { authorization: `Basic ${basic}` }, opts)
}

/**
 * The SDKs' data-plane exchange (DATABRICKS.md §2.3): a workspace token as the jwt-bearer
 * assertion, scoped by authorization_details, with no client authentication.
 */
export async function tokenExchangeGrant (tokenUrl: string, assertion: string, authorizationDetails: string, opts: GrantOptions): Promise<MintedToken> {
  const form = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion,
    authorization_details: authorizationDetails
  })
  return postTokenForm(tokenUrl, form, {}, opts)
}

async function postTokenForm (url: string, form: URLSearchParams, headers: Record<string, string>, opts: GrantOptions): Promise<MintedToken> {
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
    const reason = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'TimeoutError' || code === 'AbortError' ? 'TIMEOUT' : code
    throw tokenError(`token endpoint request failed (${reason})`, { reason }, err)
  }
  let body: unknown
  try {
    body = JSON.parse(await res.body.text())
  } catch (err) {
    throw tokenError(`token endpoint answered ${res.statusCode} without JSON`, withRetry({ reason: 'invalid_response', status: res.statusCode }, res, opts.now), err)
  }
  const b = (body ?? {}) as Record<string, unknown>
  if (res.statusCode >= 400 || typeof b.error === 'string' || typeof b.errorCode === 'string') {
    const reason = String(b.error ?? b.errorCode ?? `http_${res.statusCode}`).slice(0, 64)
    const desc = typeof b.error_description === 'string' ? `: ${b.error_description.slice(0, 200)}` : ''
    throw tokenError(`token endpoint answered ${res.statusCode} ${reason}${desc}`, withRetry({ reason, status: res.statusCode }, res, opts.now))
  }
  const expiresIn = Number(b.expires_in)
  if (typeof b.access_token !== 'string' || b.access_token === '' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    throw tokenError('token endpoint response lacks access_token or a positive expires_in', { reason: 'invalid_response', status: res.statusCode })
  }
  return { accessToken: b.access_token, expiresInMs: expiresIn * 1000 }
}

function withRetry (info: TokenErrorInfo, res: Dispatcher.ResponseData, now: () => number): TokenErrorInfo {
  const h = res.headers['retry-after']
  const retryAfterMs = parseRetryAfter(Array.isArray(h) ? h[0] : h, now())
  return retryAfterMs === undefined ? info : { ...info, retryAfterMs }
}

function tokenError (message: string, info: TokenErrorInfo, cause?: unknown): Error & TokenErrorInfo {
  const err = cause === undefined ? new TokenEndpointError(message) : new TokenEndpointError(message, { cause })
  return Object.assign(err, info)
}
