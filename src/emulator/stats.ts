// Counts what reached the emulator, so tests can assert single-flight minting and clean upstream headers.
import type { TokenRecord } from './token-store.js'
import { GRANTS } from './token-store.js'
import { scopeKeys } from './authorization-details.js'

export type ReceivedHeaders = Record<string, string | string[] | undefined>

/** Which URL an invocation came in on. */
export type InvocationRoute = 'data-plane' | 'workspace'

export interface InvocationSnapshot {
  endpoint: string
  via: InvocationRoute
  /** Headers exactly as received. */
  headers: ReceivedHeaders
  /** Raw request body ('' when the request never got that far). */
  body: string
  /** Scope keys of the presented token (`${endpointId}:${action}` or 'workspace'); [] when none was recognised. */
  tokenScope: string[]
}

export interface EmulatorStats {
  /** Every POST /oidc/v1/token, failures and faulted ones included. */
  tokenRequests: number
  mints: {
    total: number
    /** `${endpointId}:${action}` per authorization_details action, or 'workspace' for unscoped tokens. */
    byScope: Record<string, number>
    byGrant: { client_credentials: number, 'jwt-bearer': number }
  }
  /** Data-plane invocations per endpoint name, per status ('200', '401', … or 'reset' / 'hang' for faults). */
  invocations: Record<string, Record<string, number>>
  /** The same for the workspace-URL invocation paths. */
  workspaceInvocations: Record<string, Record<string, number>>
  lastInvocation?: InvocationSnapshot
  /** Headers of the last 200 invocation requests, oldest first. */
  invocationHeaders: ReceivedHeaders[]
  /** Requests under /api/2.0/. */
  controlPlaneRequests: number
}

const HEADER_RING = 200

export class StatsRecorder {
  #stats: EmulatorStats = empty()

  tokenRequest (): void {
    this.#stats.tokenRequests++
  }

  controlPlaneRequest (): void {
    this.#stats.controlPlaneRequests++
  }

  mint (record: TokenRecord): void {
    const { mints } = this.#stats
    mints.total++
    mints.byGrant[record.grant === GRANTS.jwtBearer ? 'jwt-bearer' : 'client_credentials']++
    for (const key of scopeKeys(record.authorizationDetails)) mints.byScope[key] = (mints.byScope[key] ?? 0) + 1
  }

  /** Records an arriving invocation; the returned entry is filled in as the request progresses. */
  invocation (endpoint: string, via: InvocationRoute, headers: ReceivedHeaders): InvocationSnapshot {
    const entry: InvocationSnapshot = { endpoint, via, headers: { ...headers }, body: '', tokenScope: [] }
    const ring = this.#stats.invocationHeaders
    ring.push(entry.headers)
    if (ring.length > HEADER_RING) ring.shift()
    this.#stats.lastInvocation = entry
    return entry
  }

  outcome (endpoint: string, via: InvocationRoute, status: number | 'reset' | 'hang'): void {
    const table = via === 'data-plane' ? this.#stats.invocations : this.#stats.workspaceInvocations
    // Null-prototype rows: names come from the URL, and '__proto__' must stay a plain key.
    const row = table[endpoint] ??= Object.create(null) as Record<string, number>
    row[status] = (row[status] ?? 0) + 1
  }

  snapshot (): EmulatorStats {
    return structuredClone(this.#stats)
  }

  reset (): void {
    this.#stats = empty()
  }
}

function empty (): EmulatorStats {
  return {
    tokenRequests: 0,
    mints: { total: 0, byScope: Object.create(null) as Record<string, number>, byGrant: { client_credentials: 0, 'jwt-bearer': 0 } },
    invocations: Object.create(null) as Record<string, Record<string, number>>,
    workspaceInvocations: Object.create(null) as Record<string, Record<string, number>>,
    invocationHeaders: [],
    controlPlaneRequests: 0
  }
}
