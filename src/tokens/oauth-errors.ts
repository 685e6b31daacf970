// What callers, /readyz and logs may learn of a token failure. Callers and /readyz get the
// gateway's own words plus one OAuth error code from a fixed list, never the token endpoint's
// text (it may echo the request, Basic credential included); logs may carry that text, cut,
// cleaned of control characters and with every configured secret masked.

/** RFC 6749 §5.2, RFC 9396 and RFC 8693 codes, plus ours for an answer that fails our checks. */
export const OAUTH_CODES = [
  'invalid_client', 'invalid_grant', 'invalid_request', 'invalid_scope', 'unauthorized_client',
  'unsupported_grant_type', 'invalid_authorization_details', 'access_denied',
  'temporarily_unavailable', 'server_error', 'invalid_response'
] as const

export type OAuthCode = typeof OAUTH_CODES[number]

const KNOWN: ReadonlySet<string> = new Set(OAUTH_CODES)

/** Codes a retry will not fix until someone changes the secret, the grant or a permission. */
export const CREDENTIAL_CODES: ReadonlySet<OAuthCode> = new Set<OAuthCode>([
  'invalid_client', 'invalid_authorization_details', 'unauthorized_client', 'invalid_scope', 'invalid_grant', 'access_denied'
])

/**
 * The fixed-list code for what a token endpoint said: its `error` when that is a known code,
 * else one implied by the HTTP status (5xx and 429: temporarily_unavailable; other 4xx:
 * invalid_request; anything else: server_error).
 */
export function oauthCode (said: unknown, status: number): OAuthCode {
  if (typeof said === 'string' && KNOWN.has(said)) return said as OAuthCode
  if (status === 429 || status === 503) return 'temporarily_unavailable'
  if (status >= 500) return 'server_error'
  if (status >= 400) return 'invalid_request'
  return 'server_error'
}

const MASK = '********'

/**
 * Text for a log line from a party we do not trust: every secret (and its URL-encoded and
 * base64 forms, as they travel in forms and Basic headers) masked, control characters
 * removed, cut to 200 characters. Masking comes before cutting, so no secret is half-shown.
 */
export function cleanText (text: string, secrets: readonly string[]): string {
  let out = text.slice(0, 64 * 1024)
  for (const s of secrets) {
    if (s.length < 4) continue
    for (const form of [s, encodeURIComponent(s), Buffer.from(s).toString('base64')]) out = out.split(form).join(MASK)
  }
  // Printable characters only (C0 and C1 controls, DEL, line and paragraph separators go).
  return out.replace(/[^\x20-\x7e\u00a0-\u2027\u202a-\uffff]+/g, ' ').slice(0, 200)
}
