// What a scoped token is for, read from its authorization_details (docs/databricks-protocol.md §2),
// and the report of one endpoint's token that `routegate token` and the admin API show: never the token.

export interface ScopeEntry {
  type: string | undefined
  objectType: string | undefined
  /** `/serving-endpoints/<endpoint-id>`. */
  objectPath: string | undefined
  actions: string[]
}

/** The entries of an authorization_details JSON string; [] when it is not a JSON array of objects. */
export function parseScope (authorizationDetails: string | undefined): ScopeEntry[] {
  if (authorizationDetails === undefined) return []
  let doc: unknown
  try {
    doc = JSON.parse(authorizationDetails)
  } catch {
    return []
  }
  if (!Array.isArray(doc)) return []
  const str = (v: unknown): string | undefined => typeof v === 'string' ? v : undefined
  return doc.filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null).map(d => ({
    type: str(d.type),
    objectType: str(d.object_type),
    objectPath: str(d.object_path),
    actions: Array.isArray(d.actions) ? d.actions.filter((a): a is string => typeof a === 'string') : []
  }))
}

/** One endpoint's token as a gateway holds it (or as `routegate token` minted it). */
export interface TokenReport {
  endpoint: string
  workspace: string
  /** Undefined while a discovered endpoint has not been looked up yet. */
  endpointId: string | undefined
  action: string
  /** True when the url and id came from the workspace (discovery), not the config. */
  discovered: boolean
  scope: ScopeEntry[]
  /** The authorization_details sent to the token endpoint, verbatim. */
  authorizationDetails: string | undefined
  /** valid: usable and fresh; stale: usable, being replaced; none: no usable token held. */
  state: 'valid' | 'stale' | 'none'
  expiresAt: string | undefined
  refreshing?: boolean
  lastError?: string
  retryAt?: string
}

/** What the report needs of a resolved route and the broker's status of its token. */
export interface ReportedRoute {
  name: string
  workspace: string
  endpointId: string
  action: string
  discovered: boolean
  token: { authorizationDetails?: string | undefined }
}
export interface ReportedStatus {
  state: 'valid' | 'stale' | 'none'
  expiresAt?: number | undefined
  refreshing?: boolean
  lastError?: string | undefined
  retryAt?: number | undefined
}

/** The report of a route's token, from the broker's status of it: scope and times, never the token. */
export function tokenReport (route: ReportedRoute, status: ReportedStatus): TokenReport {
  const r: TokenReport = {
    endpoint: route.name,
    workspace: route.workspace,
    endpointId: route.endpointId,
    action: route.action,
    discovered: route.discovered,
    scope: parseScope(route.token.authorizationDetails),
    authorizationDetails: route.token.authorizationDetails,
    state: status.state,
    expiresAt: status.expiresAt === undefined ? undefined : new Date(status.expiresAt).toISOString()
  }
  if (status.refreshing !== undefined) r.refreshing = status.refreshing
  if (status.lastError !== undefined) r.lastError = status.lastError
  if (status.retryAt !== undefined) r.retryAt = new Date(status.retryAt).toISOString()
  return r
}
