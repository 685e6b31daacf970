// The endpoints callers may name. Configured URLs become routes at start-up; endpoints without
// one are discovered from the workspace API on first use (single flight, cached until evicted).
import type { Dispatcher } from 'undici'
import type { Config, EndpointConfig, WorkspaceConfig } from '../config/load.js'
import type { TokenBroker, TokenSpec } from '../tokens/broker.js'
import { servingAuthorizationDetails } from '../tokens/grants.js'
import { workspaceTokens, type WorkspaceTokens } from '../tokens/specs.js'
import { ControlPlaneRefused } from '../errors.js'
import { discoverEndpoint } from './discovery.js'
import { EndpointNotFound } from '../errors.js'
import { poolKey } from '../proxy/pools.js'

/** The endpoint settings a route carries, named once: the Route type and toRoute both follow this list. */
const ROUTE_SETTINGS = ['name', 'action', 'timeoutMs', 'connectTimeoutMs', 'idleTimeoutMs', 'connections', 'caFile'] as const
type RouteSettings = Pick<EndpointConfig, typeof ROUTE_SETTINGS[number]>

function settingsOf (ep: EndpointConfig): RouteSettings {
  const out: Partial<Record<keyof RouteSettings, unknown>> = {}
  for (const k of ROUTE_SETTINGS) out[k] = ep[k]
  return out as RouteSettings
}

export interface Route extends RouteSettings {
  workspace: string
  /** Upstream origin (pool key) and the request target sent to it. */
  origin: string
  path: string
  endpointId: string
  /** Endpoints share a pool only when origin and pool settings are the same (see Pools.keyOf). */
  poolKey: string
  token: TokenSpec
  discovered: boolean
}

export interface RegistryDeps {
  broker: TokenBroker
  /** Dispatcher for token-endpoint and control-plane calls (kept apart from the data-plane pools). */
  controlDispatcher: Dispatcher
  fetchTimeoutMs: number
  now: () => number
  /**
   * Called once per endpoint (until it is found again) when the workspace says it does not exist:
   * most often a typo in `name`/`remoteName`, otherwise visible only in /readyz and 404s.
   */
  onMissing?: (endpoint: EndpointConfig, err: Error) => void
}

export interface Registry {
  /** The configured endpoint of that name, without resolving it. */
  endpoint: (name: string) => EndpointConfig | undefined
  names: () => string[]
  /** The route for a configured endpoint; discovers it first if needed. Throws coded errors. */
  resolve: (name: string) => Promise<Route>
  /** The route if already known (static, or discovered and cached); never starts a discovery. */
  peek: (name: string) => Route | undefined
  /** Forgets discovered info (after the data plane refused or lost the endpoint); static routes stay. */
  evict: (name: string) => void
  /** Workspace (control-plane) token spec, for discovery and the token exchange. */
  workspaceToken: (workspace: string) => TokenSpec | undefined
}

// A failed discovery is remembered briefly, so a missing endpoint does not cost a control-plane
// call per request.
const NEGATIVE_CACHE_MS = 5000

interface Discovery {
  route?: Route
  inflight?: Promise<Route>
  failedUntil: number
  lastError?: Error
}

export function createRegistry (config: Config, deps: RegistryDeps): Registry {
  const workspaces = new Map(config.workspaces.map(w => [w.name, w]))
  const endpoints = new Map(config.endpoints.map(e => [e.name, e]))
  const tokens = new Map(config.workspaces.map(ws => [ws.name, workspaceTokens(ws, {
    broker: deps.broker, dispatcher: deps.controlDispatcher, fetchTimeoutMs: deps.fetchTimeoutMs, now: deps.now
  })]))
  const tokensOf = (ws: WorkspaceConfig): WorkspaceTokens => tokens.get(ws.name) as WorkspaceTokens

  function toRoute (ep: EndpointConfig, ws: WorkspaceConfig, url: string, endpointId: string, authorizationDetails: string, discovered: boolean): Route {
    const u = new URL(url)
    return {
      ...settingsOf(ep),
      workspace: ws.name,
      origin: u.origin,
      path: u.pathname + u.search,
      endpointId,
      poolKey: poolKey(u.origin, ep),
      token: tokensOf(ws).endpoint(ep.name, endpointId, ep.action, authorizationDetails),
      discovered
    }
  }

  const discoveries = new Map<string, Discovery>()
  const reportedMissing = new Set<string>()
  for (const ep of config.endpoints) {
    const ws = workspaces.get(ep.workspace) as WorkspaceConfig
    const d: Discovery = { failedUntil: 0 }
    if (ep.url !== undefined && ep.endpointId !== undefined) {
      d.route = toRoute(ep, ws, ep.url, ep.endpointId, servingAuthorizationDetails(ep.endpointId, ep.action), false)
    }
    discoveries.set(ep.name, d)
  }

  async function discover (ep: EndpointConfig, d: Discovery): Promise<Route> {
    const ws = workspaces.get(ep.workspace) as WorkspaceConfig
    const wsSpec = tokensOf(ws).workspace
    const token = await deps.broker.get(wsSpec)
    const ac = new AbortController()
    const timer = setTimeout(() => ac.abort(), deps.fetchTimeoutMs)
    try {
      const info = await discoverEndpoint(ws.host, ep.remoteName, token, { dispatcher: deps.controlDispatcher, timeoutMs: deps.fetchTimeoutMs, signal: ac.signal })
      deps.broker.accepted(wsSpec, token)
      // The discovered authorization_details name the query action; other actions are scoped by us.
      const details = ep.action === 'query_inference_endpoint' ? info.authorizationDetails : servingAuthorizationDetails(info.id, ep.action)
      return toRoute(ep, ws, info.url, info.id, details, true)
    } catch (err) {
      if (err instanceof ControlPlaneRefused) deps.broker.invalidate(wsSpec, token)
      throw err
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    endpoint: (name) => endpoints.get(name),
    names: () => [...endpoints.keys()],
    workspaceToken: (name) => tokens.get(name)?.workspace,
    async resolve (name) {
      const ep = endpoints.get(name)
      const d = discoveries.get(name)
      /* c8 ignore next - callers check endpoint() first */
      if (ep === undefined || d === undefined) throw new Error(`unknown endpoint ${name}`)
      if (d.route !== undefined) return d.route
      if (d.inflight !== undefined) return await d.inflight
      if (d.lastError !== undefined && deps.now() < d.failedUntil) throw d.lastError
      const p = discover(ep, d)
      d.inflight = p
      try {
        const route = await p
        d.route = route
        d.lastError = undefined
        reportedMissing.delete(name)
        return route
      } catch (err) {
        d.lastError = err as Error
        if (err instanceof EndpointNotFound && !reportedMissing.has(name)) {
          reportedMissing.add(name)
          deps.onMissing?.(ep, err)
        }
        d.failedUntil = deps.now() + NEGATIVE_CACHE_MS
        throw err
      } finally {
        d.inflight = undefined
      }
    },
    peek: (name) => discoveries.get(name)?.route,
    evict (name) {
      const d = discoveries.get(name)
      if (d?.route?.discovered === true) d.route = undefined
    }
  }
}
