// Validates emulator options eagerly and fills in every default.
import type { EmulatorEndpoint, EmulatorEndpointInfo, EmulatorOptions, EmulatorPrincipal, FederationPolicy, ServedEntityInfo } from './types.js'
import { EMULATOR_ACTIONS, EMULATOR_TASKS } from './types.js'
import { ENDPOINT_NAME } from './endpoint-config.js'
import { randomClientCredentials, randomHex, randomWorkspaceId, seededIdentities } from './random.js'

export interface ResolvedOptions {
  workspaceId: string
  principals: EmulatorPrincipal[]
  endpoints: Record<string, EmulatorEndpointInfo>
  tokenTtlSeconds: number
  dataPlaneTokenTtlSeconds: number
  now: () => number
  logger: boolean | object
  streamIntervalMs: number
  defaultMaxTokens: number
  readyDelayMs: number
  federationPolicies: FederationPolicy[]
}

const DEFAULT_ENDPOINTS: EmulatorEndpoint[] = [{ name: 'fraud-model' }, { name: 'feed-ads' }]
const ENDPOINT_ID = /^[A-Za-z0-9]{1,64}$/

export function resolveOptions (opts: EmulatorOptions = {}): ResolvedOptions {
  if (opts.seed !== undefined && (typeof opts.seed !== 'string' || opts.seed === '')) throw new TypeError('seed must be a non-empty string')
  const seeded = opts.seed === undefined ? undefined : seededIdentities(opts.seed)
  const workspaceId = opts.workspaceId ?? seeded?.workspaceId ?? randomWorkspaceId()
  if (opts.now !== undefined && typeof opts.now !== 'function') throw new TypeError('now must be a function')
  const now = opts.now ?? Date.now
  if (!/^\d+$/.test(workspaceId)) throw new TypeError('workspaceId must be a string of digits')

  const streamIntervalMs = delay('streamIntervalMs', opts.streamIntervalMs ?? 10)
  const defaultMaxTokens = maxTokens('defaultMaxTokens', opts.defaultMaxTokens ?? 5)

  // No prototype: `__proto__` is a valid endpoint name (options and the create API alike).
  const endpoints: Record<string, EmulatorEndpointInfo> = Object.create(null) as Record<string, EmulatorEndpointInfo>
  const ids = new Set<string>()
  for (const ep of opts.endpoints ?? DEFAULT_ENDPOINTS) {
    if (typeof ep?.name !== 'string' || !ENDPOINT_NAME.test(ep.name)) {
      throw new TypeError(`endpoint name ${JSON.stringify(ep?.name)} must be 1-63 letters, digits, '-' or '_'`)
    }
    if (Object.hasOwn(endpoints, ep.name)) throw new TypeError(`duplicate endpoint name ${ep.name}`)
    const id = ep.id ?? seeded?.endpointId(ep.name) ?? randomHex(16)
    if (!ENDPOINT_ID.test(id)) throw new TypeError(`endpoint id ${JSON.stringify(id)} must be alphanumeric`)
    if (ids.has(id)) throw new TypeError(`duplicate endpoint id ${id}`)
    ids.add(id)
    endpoints[ep.name] = resolveEndpoint(ep, id, { streamIntervalMs, defaultMaxTokens, createdAt: now() })
  }

  const principals = (opts.principals ?? [{
    ...(seeded === undefined ? randomClientCredentials() : { clientId: seeded.clientId, clientSecret: seeded.clientSecret }),
    permissions: [{ endpoint: '*', actions: [...EMULATOR_ACTIONS] }]
  }]).map(validatePrincipal)
  const clientIds = new Set(principals.map(p => p.clientId))
  if (clientIds.size !== principals.length) throw new TypeError('duplicate principal clientId')

  const tokenTtlSeconds = positiveInteger('tokenTtlSeconds', opts.tokenTtlSeconds ?? 3600)
  const dataPlaneTokenTtlSeconds = positiveInteger('dataPlaneTokenTtlSeconds', opts.dataPlaneTokenTtlSeconds ?? tokenTtlSeconds)
  const readyDelayMs = delay('readyDelayMs', opts.readyDelayMs ?? 500)

  return {
    workspaceId,
    principals,
    endpoints,
    tokenTtlSeconds,
    dataPlaneTokenTtlSeconds,
    now,
    logger: opts.logger ?? false,
    streamIntervalMs,
    defaultMaxTokens,
    readyDelayMs,
    federationPolicies: (opts.federationPolicies ?? []).map(p => validatePolicy(p, clientIds))
  }
}

/** Fills in an endpoint's defaults; `id` is already checked. Exported for endpoints created at run time. */
export function resolveEndpoint (ep: EmulatorEndpoint, id: string, defaults: { streamIntervalMs: number, defaultMaxTokens: number, createdAt: number }): EmulatorEndpointInfo {
  if (ep.task !== undefined && !(EMULATOR_TASKS as readonly string[]).includes(ep.task)) {
    throw new TypeError(`endpoint ${ep.name}: task must be one of ${EMULATOR_TASKS.join(', ')}`)
  }
  if (ep.errorForm !== undefined && ep.errorForm !== 'string' && ep.errorForm !== 'numeric') {
    throw new TypeError(`endpoint ${ep.name}: errorForm must be 'string' or 'numeric'`)
  }
  if (ep.sseLineEnd !== undefined && !['lf', 'crlf', 'cr'].includes(ep.sseLineEnd)) {
    throw new TypeError(`endpoint ${ep.name}: sseLineEnd must be 'lf', 'crlf' or 'cr'`)
  }
  if (ep.honourEncodingFormat !== undefined && typeof ep.honourEncodingFormat !== 'boolean') {
    throw new TypeError(`endpoint ${ep.name}: honourEncodingFormat must be a boolean`)
  }
  const dimensions = ep.embeddingDimensions ?? 8
  if (!Number.isSafeInteger(dimensions) || dimensions < 1 || dimensions > 4096) throw new TypeError(`endpoint ${ep.name}: embeddingDimensions must be an integer in 1..4096`)
  if (ep.featureSpec !== undefined && (ep.entityName !== undefined || ep.entityVersion !== undefined)) {
    throw new TypeError(`endpoint ${ep.name}: featureSpec and entityName/entityVersion exclude each other`)
  }
  const servedModelName = ep.servedModelName ?? `${ep.name}-1`
  const entity: ServedEntityInfo = {
    name: servedModelName,
    entityName: ep.featureSpec ?? ep.entityName ?? `main.default.${ep.name.replaceAll('-', '_')}`,
    entityVersion: ep.featureSpec === undefined ? (ep.entityVersion ?? '1') : undefined,
    workloadType: 'CPU',
    workloadSize: 'Small',
    scaleToZeroEnabled: true
  }
  return {
    name: ep.name,
    id,
    routeOptimized: ep.routeOptimized ?? true,
    ready: ep.ready ?? true,
    workspaceUrlAllowed: ep.workspaceUrlAllowed ?? false,
    servedModelName,
    task: ep.task,
    defaultMaxTokens: maxTokens(`endpoint ${ep.name}: defaultMaxTokens`, ep.defaultMaxTokens ?? defaults.defaultMaxTokens),
    streamIntervalMs: delay(`endpoint ${ep.name}: streamIntervalMs`, ep.streamIntervalMs ?? defaults.streamIntervalMs),
    embeddingDimensions: dimensions,
    honourEncodingFormat: ep.honourEncodingFormat ?? true,
    sseLineEnd: ep.sseLineEnd ?? 'lf',
    errorForm: ep.errorForm ?? 'string',
    servedEntities: [entity],
    configVersion: 1,
    configUpdate: 'NOT_UPDATING',
    createdAt: defaults.createdAt,
    updatedAt: defaults.createdAt,
    creator: 'emulator@databricks.invalid'
  }
}

function delay (name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a non-negative number`)
  return value
}

// The same cap as a request's max_tokens (see openai.ts).
function maxTokens (name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > 1000) throw new TypeError(`${name} must be an integer in 1..1000`)
  return value
}

function validatePrincipal (p: EmulatorPrincipal): EmulatorPrincipal {
  if (typeof p?.clientId !== 'string' || p.clientId === '') throw new TypeError('principal clientId must be a non-empty string')
  if (typeof p.clientSecret !== 'string' || p.clientSecret === '') throw new TypeError(`principal ${p.clientId}: clientSecret must be a non-empty string`)
  if (!Array.isArray(p.permissions)) throw new TypeError(`principal ${p.clientId}: permissions must be an array`)
  for (const perm of p.permissions) {
    if (typeof perm?.endpoint !== 'string' || !Array.isArray(perm.actions) ||
        !perm.actions.every(a => (EMULATOR_ACTIONS as readonly string[]).includes(a))) {
      throw new TypeError(`principal ${p.clientId}: each permission needs an endpoint and actions from ${EMULATOR_ACTIONS.join(', ')}`)
    }
  }
  return { clientId: p.clientId, clientSecret: p.clientSecret, permissions: p.permissions.map(x => ({ endpoint: x.endpoint, actions: [...x.actions] })) }
}

function positiveInteger (name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer (seconds)`)
  return value
}

function validatePolicy (p: FederationPolicy, clientIds: ReadonlySet<string>): FederationPolicy {
  for (const f of ['issuer', 'audience', 'subject'] as const) {
    if (typeof p?.[f] !== 'string' || p[f] === '') throw new TypeError(`federation policy ${f} must be a non-empty string`)
  }
  if (!Array.isArray(p.jwks?.keys) || p.jwks.keys.length === 0) throw new TypeError('federation policy jwks must have keys')
  if (p.clientId !== undefined && !clientIds.has(p.clientId)) throw new TypeError(`federation policy clientId ${p.clientId} is no principal`)
  return p
}
