// The endpoints callers may name, each resolved once at start-up into a ready-to-use Route.
import type { Dispatcher } from 'undici'
import type { Action, Config, EndpointConfig, WorkspaceConfig } from '../config/load.js'
import type { TokenSpec } from '../tokens/broker.js'
import { clientCredentialsGrant, servingAuthorizationDetails } from '../tokens/grants.js'

export interface Route {
  name: string
  workspace: string
  /** Upstream origin (pool key) and the request target sent to it. */
  origin: string
  path: string
  endpointId: string
  action: Action
  timeoutMs: number
  connectTimeoutMs: number
  idleTimeoutMs: number
  connections: number
  token: TokenSpec
}

export interface RegistryDeps {
  /** Dispatcher for token-endpoint calls (kept apart from the data-plane pools). */
  tokenDispatcher: Dispatcher
  fetchTimeoutMs: number
  now: () => number
}

export interface Registry {
  get: (name: string) => Route | undefined
  list: () => Route[]
}

export function createRegistry (config: Config, deps: RegistryDeps): Registry {
  const workspaces = new Map(config.workspaces.map(w => [w.name, w]))
  const routes = new Map<string, Route>()
  for (const ep of config.endpoints) {
    const ws = workspaces.get(ep.workspace)
    // Config validation guarantees the workspace exists.
    /* c8 ignore next */
    if (ws === undefined) throw new Error(`unknown workspace ${ep.workspace}`)
    routes.set(ep.name, toRoute(ep, ws, deps))
  }
  return {
    get: (name) => routes.get(name),
    list: () => [...routes.values()]
  }
}

function toRoute (ep: EndpointConfig, ws: WorkspaceConfig, deps: RegistryDeps): Route {
  const url = new URL(ep.url)
  const authorizationDetails = servingAuthorizationDetails(ep.endpointId, ep.action)
  const token: TokenSpec = {
    key: `${ws.name}\u0000${ep.endpointId}\u0000${ep.action}`,
    workspace: ws.name,
    endpoint: ep.name,
    mint: (signal) => clientCredentialsGrant(ws, authorizationDetails, {
      dispatcher: deps.tokenDispatcher, timeoutMs: deps.fetchTimeoutMs, now: deps.now, signal
    })
  }
  return {
    name: ep.name,
    workspace: ws.name,
    origin: url.origin,
    path: url.pathname,
    endpointId: ep.endpointId,
    action: ep.action,
    timeoutMs: ep.timeoutMs,
    connectTimeoutMs: ep.connectTimeoutMs,
    idleTimeoutMs: ep.idleTimeoutMs,
    connections: ep.connections,
    token
  }
}
