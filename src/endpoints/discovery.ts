// Control-plane lookup of a route-optimized endpoint: GET /api/2.0/serving-endpoints/{name}
// with a workspace token; its data_plane_info.query_info is used verbatim (docs/databricks-protocol.md §5).
import { request, type Dispatcher } from 'undici'
import { BodyTooLarge } from '../errors.js'
import { readLimited } from '../io/read-limited.js'
import { ControlPlaneRefused, EndpointNotFound, EndpointNotReady, UpstreamUnavailable } from '../errors.js'

export interface DiscoveredEndpoint {
  id: string
  /** data_plane_info.query_info.endpoint_url: the absolute URL to POST to. */
  url: string
  /** data_plane_info.query_info.authorization_details: a JSON string, passed verbatim to the token endpoint. */
  authorizationDetails: string
}

export interface DiscoveryOptions {
  dispatcher: Dispatcher
  timeoutMs: number
  signal?: AbortSignal
}

export async function discoverEndpoint (host: string, remoteName: string, workspaceToken: string, opts: DiscoveryOptions): Promise<DiscoveredEndpoint> {
  let res: Dispatcher.ResponseData
  try {
    res = await request(`${host}/api/2.0/serving-endpoints/${encodeURIComponent(remoteName)}`, {
      method: 'GET',
      dispatcher: opts.dispatcher,
      headers: { authorization: `Bearer ${workspaceToken}`, accept: 'application/json' },
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      signal: opts.signal
    })
  } catch (err) {
    throw new UpstreamUnavailable(`looking up endpoint '${remoteName}' in the workspace failed`, { cause: err })
  }
  let text: string
  try {
    text = await readLimited(res.body)
  } catch (err) {
    throw new UpstreamUnavailable(err instanceof BodyTooLarge ? `endpoint lookup for '${remoteName}' answered more than ${err.limit} bytes` : `endpoint lookup for '${remoteName}' broke off`, { cause: err })
  }
  if (res.statusCode === 404) throw new EndpointNotFound(`endpoint '${remoteName}' does not exist in the workspace`)
  if (res.statusCode === 401 || res.statusCode === 403) {
    throw new ControlPlaneRefused(`workspace refused the endpoint lookup for '${remoteName}' (${res.statusCode})`)
  }
  if (res.statusCode >= 400) throw new UpstreamUnavailable(`endpoint lookup for '${remoteName}' answered ${res.statusCode}`)
  let body: any
  try {
    body = JSON.parse(text)
  } catch {
    throw new UpstreamUnavailable(`endpoint lookup for '${remoteName}' answered without JSON`)
  }
  const info = body?.data_plane_info?.query_info
  // No silent fallback to the workspace URL (docs/databricks-protocol.md §1, §5): only route-optimized endpoints.
  if (body?.route_optimized !== true || typeof info?.endpoint_url !== 'string' || typeof info?.authorization_details !== 'string') {
    throw new EndpointNotFound(`endpoint '${remoteName}' is not route optimized (no data_plane_info)`)
  }
  const ready = body?.state?.ready
  if (ready !== undefined && ready !== 'READY') {
    throw new EndpointNotReady(`endpoint '${remoteName}' is not ready (state ${String(ready).slice(0, 32)})`, { headers: { 'retry-after': '5' } })
  }
  if (typeof body.id !== 'string' || body.id === '') throw new UpstreamUnavailable(`endpoint lookup for '${remoteName}' has no id`)
  let url: URL
  try {
    url = new URL(info.endpoint_url)
  } catch {
    throw new UpstreamUnavailable(`endpoint '${remoteName}' has an invalid endpoint_url`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UpstreamUnavailable(`endpoint '${remoteName}' has an invalid endpoint_url`)
  return { id: body.id, url: url.toString(), authorizationDetails: info.authorization_details }
}
