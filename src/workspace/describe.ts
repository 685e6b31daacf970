// How the CLI shows serving endpoints: a table for a list, key-value lines for one, the state a
// wait reports, and the config snippet that puts an endpoint behind the gateway.
import type { ServedEntity, ServingEndpoint } from './serving-endpoints.js'

/** The invocation URL the data plane answers on, once the workspace reports it (docs/databricks-protocol.md §5). */
export function invocationUrl (e: ServingEndpoint): string | undefined {
  const url = e.data_plane_info?.query_info?.endpoint_url ?? e.endpoint_url
  return typeof url === 'string' && url !== '' ? url : undefined
}

/** `catalog.schema.model@3`, or the feature spec's name; `+N` when it serves more entities. */
export function entityOf (e: ServingEndpoint): string {
  const entities = e.config?.served_entities ?? e.pending_config?.served_entities ?? []
  const first = entities[0]
  if (first === undefined) return '-'
  const one = entityName(first)
  return entities.length > 1 ? `${one} +${entities.length - 1}` : one
}

function entityName (s: ServedEntity): string {
  const name = s.entity_name ?? s.name ?? '?'
  return s.entity_version === undefined ? name : `${name}@${s.entity_version}`
}

/** `READY`, `NOT_READY (updating)`, `READY (update failed)`. */
export function stateOf (e: ServingEndpoint): string {
  const ready = e.state?.ready ?? 'UNKNOWN'
  const update = e.state?.config_update
  switch (update) {
    case undefined:
    case 'NOT_UPDATING':
      return ready
    case 'IN_PROGRESS':
      return `${ready} (updating)`
    case 'UPDATE_FAILED':
      return `${ready} (update failed)`
    case 'UPDATE_CANCELED':
      return `${ready} (update canceled)`
    default:
      return `${ready} (${update})`
  }
}

/** A plain-text table: a header row, columns padded to their widest cell, two spaces apart. */
export function formatTable (header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string => cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  return [line(header), ...rows.map(line)].join('\n') + '\n'
}

export function endpointsTable (endpoints: readonly ServingEndpoint[]): string {
  if (endpoints.length === 0) return 'no serving endpoints in this workspace\n'
  const sorted = [...endpoints].sort((a, b) => a.name.localeCompare(b.name))
  return formatTable(['NAME', 'STATE', 'ROUTE-OPTIMIZED', 'SERVES', 'ID'],
    sorted.map(e => [e.name, stateOf(e), e.route_optimized === true ? 'yes' : 'no', entityOf(e), e.id ?? '-']))
}

/** One endpoint, a field per line. */
export function endpointDetails (e: ServingEndpoint): string {
  const entities = e.config?.served_entities ?? []
  const pairs: Array<[string, string]> = [
    ['name', e.name],
    ['id', e.id ?? '-'],
    ['state', stateOf(e)],
    ['route optimized', e.route_optimized === true ? 'yes' : 'no'],
    ['url', invocationUrl(e) ?? (e.route_optimized === true ? '(not reported yet)' : '(none: not route optimized)')]
  ]
  if (e.creator !== undefined) pairs.push(['creator', e.creator])
  for (const s of entities) {
    const deployment = s.state?.deployment === undefined ? '' : `, ${s.state.deployment}`
    const scale = s.scale_to_zero_enabled === true ? ', scales to zero' : ''
    pairs.push(['serves', `${entityName(s)} (${s.workload_type ?? 'CPU'} ${s.workload_size ?? '?'}${scale}${deployment})`])
  }
  for (const s of e.pending_config?.served_entities ?? []) pairs.push(['pending', entityName(s)])
  const width = Math.max(...pairs.map(([k]) => k.length))
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}`).join('\n') + '\n'
}

/**
 * The `endpoints:` entry that puts this endpoint behind the gateway
 * (docs/configuration.md "Endpoints"): with the url and id once the workspace reports the url; until then name and
 * workspace only, which the gateway resolves by discovery (an endpointId needs a url).
 */
export function configSnippet (e: ServingEndpoint, workspace: string): string {
  const url = invocationUrl(e)
  const lines = ['endpoints:', `  - name: ${yamlScalar(e.name)}`, `    workspace: ${yamlScalar(workspace)}`]
  if (url !== undefined && e.id !== undefined) {
    lines.push(`    endpointId: ${yamlScalar(e.id)}`, `    url: ${yamlScalar(url)}`)
  } else {
    lines.push('    # no url yet: the gateway discovers the url and id from the workspace by name on first use')
  }
  return lines.join('\n') + '\n'
}

/** A YAML plain scalar when that reads back as the same string, else a JSON (double-quoted) one. */
function yamlScalar (s: string): string {
  return /^[A-Za-z0-9_][A-Za-z0-9_./:-]*$/.test(s) && !/^(true|false|null|yes|no|on|off|~|[0-9._e+-]+)$/i.test(s) ? s : JSON.stringify(s)
}
