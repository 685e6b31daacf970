// Checks a request's `Authorization: Bearer` token against the token store.
import type { TokenRecord, TokenStore } from './token-store.js'

export type BearerCheck =
  | { ok: true, record: TokenRecord }
  | { ok: false, reason: 'missing' | 'unknown' | 'revoked' | 'expired', record?: TokenRecord, message: string }
  | { ok: false, reason: 'expiring', record: TokenRecord, message: string }

// Databricks rejects tokens expiring within 30 s (databricks-sdk-py#362); scaled to a twentieth of the
// lifetime so tests with seconds-long tokens still get a usable window.
const SOON_MS = 30_000

export function expiringSoonMs (record: TokenRecord): number {
  return Math.min(SOON_MS, (record.expiresAt - record.issuedAt) / 20)
}

export function checkBearer (authorization: string | undefined, tokens: TokenStore, now: number): BearerCheck {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '')
  if (match?.[1] === undefined) {
    return { ok: false, reason: 'missing', message: 'Credential was not sent or was of an unsupported type for this API.' }
  }
  const record = tokens.get(match[1])
  if (record === undefined) return { ok: false, reason: 'unknown', message: 'Invalid access token.' }
  if (record.revoked) return { ok: false, reason: 'revoked', record, message: 'Invalid access token. (token revoked)' }
  if (record.expiresAt <= now) return { ok: false, reason: 'expired', record, message: 'Token is expired. (token expired)' }
  const soon = expiringSoonMs(record)
  if (record.expiresAt - now <= soon) {
    return { ok: false, reason: 'expiring', record, message: `Token is expiring within ${formatSeconds(soon)} seconds. (token expired)` }
  }
  return { ok: true, record }
}

function formatSeconds (ms: number): string {
  return String(Math.round(ms / 100) / 10)
}
