// Random identifiers shaped like Databricks' own (endpoint ids, workspace ids, OAuth secrets).
import { createHmac, randomBytes, randomInt, randomUUID } from 'node:crypto'

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

/** Identities derived from a seed: the same seed gives the same workspace, principal and endpoint ids at every start. */
export interface SeededIdentities {
  workspaceId: string
  clientId: string
  clientSecret: string
  endpointId: (name: string) => string
}

export function seededIdentities (seed: string): SeededIdentities {
  const derive = (label: string): Buffer => createHmac('sha256', seed).update(label).digest()
  const id = derive('client-id')
  // A version 4 UUID layout, like the application ids Databricks gives service principals.
  id[6] = ((id[6] as number) & 0x0f) | 0x40
  id[8] = ((id[8] as number) & 0x3f) | 0x80
  const hex = id.subarray(0, 16).toString('hex')
  const digits = [...derive('workspace-id').subarray(0, 16)].map(b => b % 10)
  digits[0] = ((digits[0] as number) % 9) + 1
  return {
    workspaceId: digits.join(''),
    clientId: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
    clientSecret: `dose${derive('client-secret').subarray(0, 16).toString('hex')}`,
    endpointId: name => derive(`endpoint:${name}`).subarray(0, 16).toString('hex')
  }
}
