// What `routegate endpoints create` asks the workspace for: local checks of names, versions and
// sizes (so a typo costs no API call), and the create request body (docs/databricks-protocol.md §8).
import { isCreatableEndpointName } from '../config/names.js'
import { InvalidArgument } from '../errors.js'

/** A Unity Catalog name: catalog.schema.name, three non-empty parts. */
const THREE_PART = /^[^.\s/]+\.[^.\s/]+\.[^.\s/]+$/
/** A model version: a positive integer, sent as a string. */
const VERSION = /^[1-9][0-9]{0,9}$/

export const WORKLOAD_TYPES = ['CPU', 'GPU_SMALL', 'GPU_MEDIUM', 'GPU_LARGE', 'MULTIGPU_MEDIUM'] as const
export const WORKLOAD_SIZES = ['Small', 'Medium', 'Large'] as const
export type WorkloadType = typeof WORKLOAD_TYPES[number]
export type WorkloadSize = typeof WORKLOAD_SIZES[number]

export interface CreateOptions {
  name: string
  /** A registered model, catalog.schema.model; needs `version`. */
  model?: string | undefined
  version?: string | undefined
  /** A feature spec, catalog.schema.feature_spec; has no version. */
  featureSpec?: string | undefined
  workloadType?: string | undefined
  workloadSize?: string | undefined
  scaleToZero?: boolean | undefined
  /** Default true: routegate serves route-optimized endpoints only, and this is set at creation only. */
  routeOptimized?: boolean | undefined
}

export interface ServedEntityInput {
  entity_name: string
  entity_version?: string
  workload_type: WorkloadType
  workload_size: WorkloadSize
  scale_to_zero_enabled: boolean
}

/** The body of POST /api/2.0/serving-endpoints. */
export interface CreateEndpointRequest {
  name: string
  config: { served_entities: ServedEntityInput[] }
  route_optimized: boolean
}

export function checkEndpointName (name: string | undefined): string {
  if (name === undefined || name === '') throw new InvalidArgument('an endpoint name is needed')
  // Databricks would take `_scoring`, but the config could not name it: refused here, before the API call.
  if (!isCreatableEndpointName(name)) {
    throw new InvalidArgument(`endpoint name '${printable(name)}': 1-63 letters, digits, dashes and underscores, starting with a letter or digit`)
  }
  return name
}

/** Checks the options and builds the create request; throws InvalidArgument naming the option. */
export function createEndpointRequest (o: CreateOptions): CreateEndpointRequest {
  const name = checkEndpointName(o.name)
  if ((o.model === undefined) === (o.featureSpec === undefined)) {
    throw new InvalidArgument('create needs one of --model catalog.schema.model (with --version N) or --feature-spec catalog.schema.spec')
  }
  const entity: Partial<ServedEntityInput> = {}
  if (o.model !== undefined) {
    entity.entity_name = threePart(o.model, '--model', 'catalog.schema.model')
    if (o.version === undefined) throw new InvalidArgument('--model needs --version N (the model version to serve)')
    if (!VERSION.test(o.version)) throw new InvalidArgument(`--version '${printable(o.version)}': a model version number, e.g. 1`)
    entity.entity_version = o.version
  } else {
    entity.entity_name = threePart(o.featureSpec as string, '--feature-spec', 'catalog.schema.feature_spec')
    if (o.version !== undefined) throw new InvalidArgument('--version is for models: a feature spec has no version')
  }
  return {
    name,
    config: {
      served_entities: [{
        ...entity as Pick<ServedEntityInput, 'entity_name' | 'entity_version'>,
        workload_type: oneOf(o.workloadType ?? 'CPU', WORKLOAD_TYPES, '--workload-type'),
        workload_size: oneOf(o.workloadSize ?? 'Small', WORKLOAD_SIZES, '--workload-size'),
        scale_to_zero_enabled: o.scaleToZero ?? false
      }]
    },
    route_optimized: o.routeOptimized ?? true
  }
}

function threePart (value: string, flag: string, shape: string): string {
  if (!THREE_PART.test(value)) throw new InvalidArgument(`${flag} '${printable(value)}': a three-part Unity Catalog name, ${shape}`)
  return value
}

function oneOf<const T extends readonly string[]> (value: string, allowed: T, flag: string): T[number] {
  // Case-insensitive, answered in the API's own spelling (gpu_small → GPU_SMALL, small → Small).
  const found = allowed.find(a => a.toLowerCase() === value.toLowerCase())
  if (found === undefined) throw new InvalidArgument(`${flag} '${printable(value)}': one of ${allowed.join(', ')}`)
  return found
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** `20m`, `90s`, `1h30m`, `500ms`, or a bare number of seconds, in milliseconds. */
export function parseDuration (text: string, flag: string): number {
  const bare = /^[0-9]+(\.[0-9]+)?$/.test(text) ? Number(text) * 1000 : undefined
  let ms = bare
  if (ms === undefined && /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/.test(text)) {
    ms = 0
    for (const [, n, unit] of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)) ms += Number(n) * (UNITS[unit as string] as number)
  }
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0 || ms > 7 * 24 * 3_600_000) {
    throw new InvalidArgument(`${flag} '${printable(text)}': a duration such as 20m, 90s or 1h (at most 7 days)`)
  }
  return Math.round(ms)
}

/** A value quoted back in a message: cut short, control characters made visible. */
export function printable (s: string): string {
  const cut = s.length > 80 ? `${s.slice(0, 80)}…` : s
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced
  return cut.replace(/[\u0000-\u001f\u007f]/g, c => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}
