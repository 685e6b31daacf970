// Signs JWT-shaped HS256 tokens so minted tokens look like Databricks' `eyJ...` access tokens.
import { createHmac } from 'node:crypto'

export function signJwt (header: object, payload: object, key: Buffer): string {
  const body = `${base64url(header)}.${base64url(payload)}`
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`
}

function base64url (value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}
