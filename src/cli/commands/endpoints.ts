// `routegate endpoints create|get|list|wait|delete`: serving endpoints of a workspace, with the
// credentials of a config file's workspace (or flags); tables by default, --json for scripts.
import { parseArgs } from 'node:util'
import { InvalidArgument } from '../../errors.js'
import { checkEndpointName, createEndpointRequest, parseDuration, WORKLOAD_SIZES, WORKLOAD_TYPES } from '../../workspace/endpoint-spec.js'
import { configSnippet, endpointDetails, endpointsTable, stateOf } from '../../workspace/describe.js'
import { createServingEndpointsClient, type ServingEndpoint, type ServingEndpointsClient } from '../../workspace/serving-endpoints.js'
import { formatElapsed, waitUntilReady, type WaitOutcome } from '../../workspace/wait.js'
import { UsageError } from '../../errors.js'
import { openWorkspaceSession, resolveWorkspace } from '../workspace.js'

export const ENDPOINTS_USAGE = `Usage:
  routegate endpoints list                [WORKSPACE] [--json]
  routegate endpoints get NAME            [WORKSPACE] [--json]
  routegate endpoints create NAME --model CATALOG.SCHEMA.MODEL --version N [OPTIONS] [WORKSPACE]
  routegate endpoints create NAME --feature-spec CATALOG.SCHEMA.SPEC [OPTIONS] [WORKSPACE]
  routegate endpoints wait NAME           [--timeout 20m] [WORKSPACE] [--json]
  routegate endpoints delete NAME         [WORKSPACE] [--json]

WORKSPACE (one of):
  -c, --config FILE [--workspace NAME]  a config file's workspace (default: its first)
  --host URL --client-id ID             a service principal; the secret in DATABRICKS_CLIENT_SECRET
                                        (DATABRICKS_HOST, DATABRICKS_CLIENT_ID stand in for the flags)

create OPTIONS:
  --workload-type T      ${WORKLOAD_TYPES.join(', ')} (default CPU)
  --workload-size S      ${WORKLOAD_SIZES.join(', ')} (default Small)
  --scale-to-zero        scale to zero when idle (--no-scale-to-zero: the default)
  --no-route-optimized   a plain endpoint (routegate serves route-optimized ones only; this is
                         chosen at creation and cannot be changed later)
  --wait                 wait until READY (with --timeout, default 20m)

create prints the config snippet (YAML) that puts the endpoint behind the gateway on stdout,
everything else on stderr. wait exits 1 when the update failed, 124 on timeout.
`

/** Exit code of a wait that ran out of time (as timeout(1)). */
export const EXIT_TIMEOUT = 124
const DEFAULT_TIMEOUT = '20m'
/** Longest pause between two polls of a wait. */
const MAX_POLL_INTERVAL_MS = 10_000

export interface CommandIO {
  out: (text: string) => void
  err: (text: string) => void
  env: Record<string, string | undefined>
  /** Monotonic clock and sleep of waits; tests may speed them up. */
  now: () => number
  sleep: (ms: number) => Promise<void>
}

export const PROCESS_IO: CommandIO = {
  out: (s) => { process.stdout.write(s) },
  err: (s) => { process.stderr.write(s) },
  env: process.env,
  now: () => performance.now(),
  sleep: async (ms) => await new Promise(resolve => setTimeout(resolve, ms))
}

export async function runEndpoints (argv: string[], io: CommandIO = PROCESS_IO): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        workspace: { type: 'string' },
        host: { type: 'string' },
        'client-id': { type: 'string' },
        'client-secret': { type: 'string' },
        json: { type: 'boolean' },
        model: { type: 'string' },
        version: { type: 'string' },
        'feature-spec': { type: 'string' },
        'workload-type': { type: 'string' },
        'workload-size': { type: 'string' },
        'scale-to-zero': { type: 'boolean' },
        'no-scale-to-zero': { type: 'boolean' },
        'route-optimized': { type: 'boolean' },
        'no-route-optimized': { type: 'boolean' },
        wait: { type: 'boolean' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    })
  } catch (err) {
    throw new UsageError((err as Error).message, ENDPOINTS_USAGE)
  }
  const { values: v, positionals } = parsed
  if (v.help === true) {
    io.out(ENDPOINTS_USAGE)
    return 0
  }
  const [sub, name, ...extra] = positionals
  const usage = (message: string): UsageError => new UsageError(message, ENDPOINTS_USAGE)
  if (sub === undefined) throw usage('which one: create, get, list, wait or delete?')
  if (!['create', 'get', 'list', 'wait', 'delete'].includes(sub)) throw usage(`unknown endpoints command '${sub.slice(0, 40)}'`)
  if (extra.length > 0) throw usage(`unexpected argument '${String(extra[0]).slice(0, 40)}'`)
  if (sub === 'list' && name !== undefined) throw usage('list takes no name')
  const createOnly = (['model', 'version', 'feature-spec', 'workload-type', 'workload-size', 'scale-to-zero', 'no-scale-to-zero', 'route-optimized', 'no-route-optimized', 'wait'] as const).filter(k => v[k] !== undefined)
  if (sub !== 'create' && createOnly.length > 0) throw usage(`--${createOnly[0] ?? ''} is for create`)
  if (sub !== 'create' && sub !== 'wait' && v.timeout !== undefined) throw usage('--timeout is for wait and create --wait')
  if (sub === 'create' && v.timeout !== undefined && v.wait !== true) throw usage('--timeout goes with --wait')
  if (v['scale-to-zero'] === true && v['no-scale-to-zero'] === true) throw usage('--scale-to-zero or --no-scale-to-zero, not both')
  if (v['route-optimized'] === true && v['no-route-optimized'] === true) throw usage('--route-optimized or --no-route-optimized, not both')

  let timeoutMs = 0
  let request
  try {
    if (sub !== 'list') checkEndpointName(name)
    if (sub === 'wait' || v.wait === true) timeoutMs = parseDuration(v.timeout ?? DEFAULT_TIMEOUT, '--timeout')
    if (sub === 'create') {
      request = createEndpointRequest({
        name: name as string,
        model: v.model,
        version: v.version,
        featureSpec: v['feature-spec'],
        workloadType: v['workload-type'],
        workloadSize: v['workload-size'],
        scaleToZero: v['scale-to-zero'] === true ? true : v['no-scale-to-zero'] === true ? false : undefined,
        routeOptimized: v['no-route-optimized'] !== true
      })
    }
  } catch (err) {
    if (err instanceof InvalidArgument) throw usage(err.message)
    throw err
  }
  const workspace = resolveWorkspace(v, io.env, ENDPOINTS_USAGE, (line) => { io.err(line + '\n') })
  const session = openWorkspaceSession(workspace)
  const client = createServingEndpointsClient({ host: workspace.host, token: session.token, dispatcher: session.dispatcher, timeoutMs: 30_000 })
  const json = v.json === true
  const print = (value: unknown): void => { io.out(JSON.stringify(value, null, 2) + '\n') }
  try {
    switch (sub) {
      case 'list': {
        const all = await client.list()
        if (json) print(all)
        else io.out(endpointsTable(all))
        return 0
      }
      case 'get': {
        const e = await client.get(name as string)
        if (json) print(e)
        else io.out(endpointDetails(e))
        return 0
      }
      case 'delete':
        await client.delete(name as string)
        if (json) print({ deleted: name })
        else io.out(`deleted endpoint ${name as string}\n`)
        return 0
      case 'wait': {
        const outcome = await wait(client, name as string, timeoutMs, io)
        if (json) print(outcome.endpoint ?? null)
        else io.out(`${name as string}: ${outcomeLine(outcome, timeoutMs)}\n`)
        return exitCode(outcome)
      }
      default: {
        // create
        const body = request as NonNullable<typeof request>
        const created = await client.create(body)
        io.err(`created endpoint ${created.name} (id ${created.id ?? '?'}, ${created.route_optimized === true ? 'route optimized' : 'NOT route optimized'}): ${stateOf(created)}\n`)
        let final: ServingEndpoint = created
        let code = 0
        if (v.wait === true) {
          const outcome = await wait(client, created.name, timeoutMs, io)
          final = outcome.endpoint ?? created
          code = exitCode(outcome)
          io.err(`${created.name}: ${outcomeLine(outcome, timeoutMs)}\n`)
        }
        if (json) {
          print(final)
        } else if (final.route_optimized === true) {
          io.err('Put it behind the gateway: add this under `endpoints:` in the config, then reload the gateway (SIGHUP):\n')
          io.out(`# routegate endpoint (routegate endpoints create ${created.name})\n${configSnippet(final, workspace.name).replace(/^endpoints:\n/, '')}`)
        } else {
          io.err('not route optimized: routegate cannot serve it (route optimization is chosen at creation: delete it and create it again without --no-route-optimized)\n')
        }
        return code
      }
    }
  } finally {
    await session.close()
  }
}

async function wait (client: ServingEndpointsClient, name: string, timeoutMs: number, io: CommandIO): Promise<WaitOutcome> {
  return await waitUntilReady({
    get: async () => await client.get(name),
    timeoutMs,
    maxIntervalMs: MAX_POLL_INTERVAL_MS,
    now: io.now,
    sleep: io.sleep,
    onChange: (e, elapsed) => { io.err(`[${formatElapsed(elapsed).padStart(6)}] ${name}: ${stateOf(e)}${deploymentNote(e)}\n`) },
    onRetry: (err, elapsed) => { io.err(`[${formatElapsed(elapsed).padStart(6)}] ${name}: could not read its state (${err.message}); trying again\n`) }
  })
}

/** What the served entities say while they deploy, e.g. `, DEPLOYMENT_CREATING`. */
function deploymentNote (e: ServingEndpoint): string {
  const states = [...new Set((e.config?.served_entities ?? []).map(s => s.state?.deployment).filter(s => s !== undefined))]
  return states.length === 0 ? '' : `, ${states.join(', ')}`
}

function outcomeLine (o: WaitOutcome, timeoutMs: number): string {
  switch (o.outcome) {
    case 'ready':
      return `READY after ${formatElapsed(o.elapsedMs)}`
    case 'failed': {
      const message = (o.endpoint.config?.served_entities ?? []).map(s => s.state?.deployment_state_message).find(m => m !== undefined && m !== '')
      return `${stateOf(o.endpoint)} after ${formatElapsed(o.elapsedMs)}${message === undefined ? '' : `: ${message.slice(0, 300)}`}`
    }
    case 'timeout':
      return `still ${o.endpoint === undefined ? 'unknown' : stateOf(o.endpoint)} after ${formatElapsed(timeoutMs)}: gave up waiting (--timeout)`
  }
}

function exitCode (o: WaitOutcome): number {
  return o.outcome === 'ready' ? 0 : o.outcome === 'failed' ? 1 : EXIT_TIMEOUT
}
