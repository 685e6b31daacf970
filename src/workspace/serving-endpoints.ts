// A small client of the workspace's serving-endpoints REST API (create, get, list, update the
// config, delete; docs/databricks-protocol.md §5, §8) with a workspace (control-plane) token.
import { request, type Dispatcher } from 'undici'
import { WorkspaceApiError } from '../errors.js'
import { BodyTooLarge } from '../errors.js'
import { readLimited } from '../io/read-limited.js'
import type { CreateEndpointRequest, ServedEntityInput } from './endpoint-spec.js'

/** The fields of a serving endpoint the CLI reads; the API sends more (kept in the JSON output). */
export interface ServingEndpoint {
  name: string
  id?: string
  route_optimized?: boolean
  endpoint_url?: string
  creator?: string
  creation_timestamp?: number
  last_updated_timestamp?: number
  state?: { ready?: string, config_update?: string }
  config?: { served_entities?: ServedEntity[] }
  pending_config?: { served_entities?: ServedEntity[] }
  data_plane_info?: { query_info?: { endpoint_url?: string, authorization_details?: string } }
  [field: string]: unknown
}

export interface ServedEntity {
  name?: string
  entity_name?: string
  entity_version?: string
  workload_type?: string
  workload_size?: string
  scale_to_zero_enabled?: boolean
  state?: { deployment?: string, deployment_state_message?: string }
}

export interface ServingEndpointsOptions {
  /** The workspace URL, e.g. https://adb-1234567890123456.7.azuredatabricks.net (no trailing slash). */
  host: string
  /** A workspace (all-apis) OAuth token; called per request, so a cached token source fits. */
  token: () => Promise<string>
  dispatcher: Dispatcher
  timeoutMs: number
}

export interface ServingEndpointsClient {
  create: (body: CreateEndpointRequest) => Promise<ServingEndpoint>
  get: (name: string) => Promise<ServingEndpoint>
  list: () => Promise<ServingEndpoint[]>
  /** PUT …/config: new served entities; `route_optimized` is accepted only as it already is. */
  updateConfig: (name: string, body: { served_entities: ServedEntityInput[], route_optimized?: boolean }) => Promise<ServingEndpoint>
  delete: (name: string) => Promise<void>
}

export function createServingEndpointsClient (opts: ServingEndpointsOptions): ServingEndpointsClient {
  const base = `${opts.host.replace(/\/+$/, '')}/api/2.0/serving-endpoints`
  const one = (name: string): string => `${base}/${encodeURIComponent(name)}`

  async function call (method: Dispatcher.HttpMethod, url: string, what: string, body?: unknown): Promise<unknown> {
    const token = await opts.token()
    let res: Dispatcher.ResponseData
    try {
      res = await request(url, {
        method,
        dispatcher: opts.dispatcher,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' })
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
        signal: AbortSignal.timeout(opts.timeoutMs)
      })
    } catch (err) {
      const code = (err as { code?: string }).code ?? (err as Error).name
      throw new WorkspaceApiError('UNAVAILABLE', `${what}: the workspace did not answer (${code})`, { cause: err })
    }
    let text: string
    try {
      text = await readLimited(res.body)
    } catch (err) {
      throw new WorkspaceApiError('UNAVAILABLE', err instanceof BodyTooLarge ? `${what}: the answer is larger than ${err.limit} bytes` : `${what}: the answer broke off`, { status: res.statusCode, cause: err })
    }
    let json: unknown
    try {
      json = text === '' ? {} : JSON.parse(text)
    } catch {
      throw new WorkspaceApiError(res.statusCode >= 400 ? `HTTP_${res.statusCode}` : 'INVALID_RESPONSE', `${what}: the workspace answered ${res.statusCode} without JSON`, { status: res.statusCode })
    }
    if (res.statusCode >= 400) {
      // {"error_code", "message"} (docs/databricks-protocol.md §7); shown as Databricks wrote it,
      // cut short and with the token masked should an answer ever echo it.
      const b = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>
      const code = typeof b.error_code === 'string' && /^[A-Z0-9_]{1,64}$/.test(b.error_code) ? b.error_code : `HTTP_${res.statusCode}`
      const message = typeof b.message === 'string' ? clean(b.message, token) : `${what} failed`
      throw new WorkspaceApiError(code, message, { status: res.statusCode })
    }
    return json
  }

  return {
    async create (body) {
      return endpoint(await call('POST', base, `creating endpoint '${body.name}'`, body))
    },
    async get (name) {
      return endpoint(await call('GET', one(name), `getting endpoint '${name}'`))
    },
    async list () {
      const body = await call('GET', base, 'listing endpoints') as { endpoints?: unknown }
      // An empty workspace answers {} (no `endpoints` field).
      if (body.endpoints === undefined) return []
      if (!Array.isArray(body.endpoints)) throw new WorkspaceApiError('INVALID_RESPONSE', 'listing endpoints: `endpoints` is not a list')
      return body.endpoints.map(endpoint)
    },
    async updateConfig (name, body) {
      return endpoint(await call('PUT', `${one(name)}/config`, `updating endpoint '${name}'`, body))
    },
    async delete (name) {
      await call('DELETE', one(name), `deleting endpoint '${name}'`)
    }
  }
}

function endpoint (json: unknown): ServingEndpoint {
  if (typeof json !== 'object' || json === null || typeof (json as { name?: unknown }).name !== 'string') {
    throw new WorkspaceApiError('INVALID_RESPONSE', 'the workspace answered an endpoint without a name')
  }
  return json as ServingEndpoint
}

/** One line, at most 500 characters, never the token. */
function clean (message: string, token: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced
  const flat = message.replaceAll(token, '***').replace(/[\u0000-\u001f\u007f]+/g, ' ')
  return flat.length > 500 ? `${flat.slice(0, 500)}…` : flat
}
