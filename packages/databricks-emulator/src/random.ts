// Random identifiers shaped like Databricks' own (endpoint ids, workspace ids, OAuth secrets).
import { randomBytes, randomInt, randomUUID } from 'node:crypto'

/** `bytes * 2` lowercase hex digits. */
export function randomHex (bytes: number): string {
  return randomBytes(bytes).toString('hex')
}

/** A 16-digit workspace id without a leading zero, like `1444828305810485`. */
export function randomWorkspaceId (): string {
  let id = String(randomInt(1, 10))
  while (id.length < 16) id += String(randomInt(0, 10))
  return id
}

/** A service principal's application id (a UUID) and a `dose`-prefixed secret. */
export function randomClientCredentials (): { clientId: string, clientSecret: string } {
  return { clientId: randomUUID(), clientSecret: `dose${randomHex(16)}` }
}
