// Validates serving-endpoint create and update bodies as Databricks does, and lets pending state changes land.
import type { EmulatorEndpointInfo, ServedEntityInfo } from './types.js'

export type Checked<T> = { ok: true, value: T } | { ok: false, message: string }

/**
 * Endpoint names: 1-63 letters, digits, dashes and underscores (the create API's documented rule),
 * for created endpoints and the emulator's own options alike. Exported so the gateway's tests
 * can check that its copy of the rule agrees.
 */
export const ENDPOINT_NAME = /^[A-Za-z0-9_-]{1,63}$/
// A feature spec is addressed by its full Unity Catalog name.
const THREE_PART = /^[^.\s]+\.[^.\s]+\.[^.\s]+$/
const WORKLOAD_SIZES = ['Small', 'Medium', 'Large'] as const
const WORKLOAD_TYPES = ['CPU', 'GPU_SMALL', 'GPU_MEDIUM', 'GPU_LARGE', 'MULTIGPU_MEDIUM'] as const
// Databricks documents 10 served entities per endpoint; users report 15 (databricks-sdk-py#1496).
const MAX_SERVED_ENTITIES = 15

export const ROUTE_OPTIMIZED_IMMUTABLE = 'route_optimized can only be set when an endpoint is created: an existing endpoint cannot be made route-optimized (or stop being so) by an update. Create a new endpoint with route_optimized set to true.'

export function checkName (name: unknown): Checked<string> {
  if (typeof name !== 'string' || !ENDPOINT_NAME.test(name)) {
    return { ok: false, message: 'Endpoint name must be between 1 and 63 characters long and contain only alphanumeric characters, dashes and underscores.' }
  }
  return { ok: true, value: name }
}

/**
 * `config.served_entities` of a create, or the body of an update: each entity needs `entity_name`;
 * a model needs `entity_version`, a feature spec (a `catalog.schema.feature_spec` name without a
 * version) must have none.
 */
export function checkServedEntities (raw: unknown): Checked<ServedEntityInfo[]> {
  if (!Array.isArray(raw) || raw.length === 0) return { ok: false, message: 'The endpoint config must have at least one served entity (config.served_entities).' }
  if (raw.length > MAX_SERVED_ENTITIES) return { ok: false, message: `An endpoint can serve at most ${MAX_SERVED_ENTITIES} entities.` }
  const entities: ServedEntityInfo[] = []
  for (const [i, e] of raw.entries()) {
    const at = `served_entities[${i}]`
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return { ok: false, message: `${at} must be an object.` }
    const entity = e as Record<string, unknown>
    const { entity_name: entityName, entity_version: version, workload_type: type = 'CPU', workload_size: size = 'Small', scale_to_zero_enabled: scale = false, name } = entity
    if (typeof entityName !== 'string' || entityName === '') return { ok: false, message: `${at}.entity_name is required.` }
    if (version !== undefined && (typeof version !== 'string' || !/^[1-9]\d*$/.test(version))) {
      return { ok: false, message: `${at}.entity_version must be a model version number as a string, e.g. "1".` }
    }
    if (version === undefined && !THREE_PART.test(entityName)) {
      return { ok: false, message: `${at}.entity_version is required for model '${entityName}' (only a feature spec, named catalog.schema.feature_spec, has no version).` }
    }
    if (!(WORKLOAD_SIZES as readonly unknown[]).includes(size)) return { ok: false, message: `${at}.workload_size must be one of ${WORKLOAD_SIZES.join(', ')}.` }
    if (!(WORKLOAD_TYPES as readonly unknown[]).includes(type)) return { ok: false, message: `${at}.workload_type must be one of ${WORKLOAD_TYPES.join(', ')}.` }
    if (typeof scale !== 'boolean') return { ok: false, message: `${at}.scale_to_zero_enabled must be a boolean.` }
    if (name !== undefined && (typeof name !== 'string' || !ENDPOINT_NAME.test(name))) return { ok: false, message: `${at}.name must be 1-63 alphanumerics, dashes and underscores.` }
    const shortName = entityName.split('.').at(-1) as string
    entities.push({
      name: name ?? (version === undefined ? shortName.replaceAll('_', '-') : `${shortName}-${version}`),
      entityName,
      entityVersion: version,
      workloadType: type as string,
      workloadSize: size as ServedEntityInfo['workloadSize'],
      scaleToZeroEnabled: scale
    })
  }
  if (new Set(entities.map(e => e.name)).size !== entities.length) return { ok: false, message: 'Served entity names must be unique within an endpoint.' }
  return { ok: true, value: entities }
}

/** A feature-serving endpoint: its serving entity is a feature spec. */
export function isFeatureSpec (endpoint: EmulatorEndpointInfo): boolean {
  return endpoint.servedEntities[0]?.entityVersion === undefined
}

/** Lands a created endpoint's readiness and a pending config update once their time has come on the `now` clock. */
export function settle (endpoint: EmulatorEndpointInfo, now: number): void {
  if (endpoint.readyAt !== undefined && now >= endpoint.readyAt) {
    endpoint.ready = true
    endpoint.readyAt = undefined
  }
  const pending = endpoint.pending
  if (pending !== undefined && now >= pending.at) {
    endpoint.servedEntities = pending.servedEntities
    endpoint.configVersion = pending.configVersion
    endpoint.servedModelName = pending.servedEntities[0]?.name ?? endpoint.servedModelName
    endpoint.updatedAt = pending.at
    endpoint.pending = undefined
  }
  endpoint.configUpdate = endpoint.readyAt === undefined && endpoint.pending === undefined ? 'NOT_UPDATING' : 'IN_PROGRESS'
}
