// The command line: parses flags into start options, starts the emulator and prints how to reach it.
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import type { Writable } from 'node:stream'
import type { EmulatorEndpoint, EmulatorOptions, RunningEmulator, StartEmulatorOptions } from './types.js'
import { seededIdentities } from './random.js'
import { DEFAULT_TLS_DIR, startEmulator } from './start.js'
import { EMULATOR_ACTIONS } from './types.js'

export const USAGE = `databricks-emulator — an offline Databricks workspace for tests

Usage:
  databricks-emulator [options]

Options:
  -p, --port N              HTTP port (default 8081; 0 for any free port)
      --host H              listen address (default 127.0.0.1)
      --seed S              derive workspace id, client id and secret, endpoint ids from S (stable across restarts)
      --client-id ID        the service principal's client id (default random, or from --seed)
      --client-secret S     its secret (without --seed, give both or neither)
      --workspace-id DIGITS the workspace id (default random, or from --seed)
      --endpoint NAME[=ID]  serve this endpoint (repeatable; replaces the defaults fraud-model, feed-ads)
      --empty               serve no endpoints at first (create them through the serving-endpoints API)
      --config FILE         a JSON file of emulator options (endpoints, principals, tokenTtlSeconds…); flags win
      --tls                 also listen over HTTPS, with a certificate from a generated test CA
      --tls-port N          HTTPS port (default 8443; 0 for any free port)
      --tls-dir DIR         where the CA, certificate and key are kept (default ${DEFAULT_TLS_DIR})
      --stream-interval-ms N  delay between SSE chunks (default 10)
      --ready-delay-ms N    how long a created endpoint stays NOT_READY, an update IN_PROGRESS (default 500)
  -h, --help                this text
`

/** A mistake in the flags: the binary prints it with the usage and exits 64. */
export class UsageError extends Error {
  readonly code = 'EMULATOR_USAGE'
}

export interface ParsedArgs {
  help: boolean
  /** A JSON options file to read; its options are overridden by the flags. */
  configPath?: string
  options: StartEmulatorOptions
}

/** Turns flags into start options; throws UsageError on a bad flag. Pure: no I/O. */
export function parseEmulatorArgs (argv: string[]): ParsedArgs {
  let values
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        seed: { type: 'string' },
        'client-id': { type: 'string' },
        'client-secret': { type: 'string' },
        'workspace-id': { type: 'string' },
        endpoint: { type: 'string', multiple: true },
        empty: { type: 'boolean' },
        config: { type: 'string' },
        tls: { type: 'boolean' },
        'tls-port': { type: 'string' },
        'tls-dir': { type: 'string' },
        'stream-interval-ms': { type: 'string' },
        'ready-delay-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const options: StartEmulatorOptions = { port: values.port === undefined ? 8081 : parsePort('--port', values.port), host: values.host ?? '127.0.0.1' }
  if (values.seed !== undefined) {
    if (values.seed === '') throw new UsageError('--seed must not be empty')
    options.seed = values.seed
  }
  if (values['workspace-id'] !== undefined) {
    if (!/^\d{1,19}$/.test(values['workspace-id'])) throw new UsageError(`--workspace-id must be digits, not '${values['workspace-id']}'`)
    options.workspaceId = values['workspace-id']
  }
  let clientId = values['client-id']
  let clientSecret = values['client-secret']
  if (options.seed === undefined && (clientId === undefined) !== (clientSecret === undefined)) {
    throw new UsageError('--client-id and --client-secret go together (or derive the other with --seed)')
  }
  if (clientId !== undefined || clientSecret !== undefined) {
    const seeded = seededIdentities(options.seed ?? '')
    clientId ??= seeded.clientId
    clientSecret ??= seeded.clientSecret
    if (clientId === '' || clientSecret === '') throw new UsageError('--client-id and --client-secret must not be empty')
    options.principals = [{ clientId, clientSecret, permissions: [{ endpoint: '*', actions: [...EMULATOR_ACTIONS] }] }]
  }
  if (values.empty === true && values.endpoint !== undefined) throw new UsageError('--empty and --endpoint contradict each other: give one')
  if (values.endpoint !== undefined) options.endpoints = values.endpoint.map(parseEndpoint)
  // A workspace with no endpoints yet: the starting point of a walkthrough that creates its own.
  if (values.empty === true) options.endpoints = []
  if (values['stream-interval-ms'] !== undefined) {
    const ms = Number(values['stream-interval-ms'])
    if (values['stream-interval-ms'] === '' || !Number.isFinite(ms) || ms < 0) throw new UsageError('--stream-interval-ms must be a non-negative number')
    options.streamIntervalMs = ms
  }
  if (values['ready-delay-ms'] !== undefined) {
    const ms = Number(values['ready-delay-ms'])
    if (values['ready-delay-ms'] === '' || !Number.isFinite(ms) || ms < 0) throw new UsageError('--ready-delay-ms must be a non-negative number')
    options.readyDelayMs = ms
  }
  const tlsPort = values['tls-port'] === undefined ? 8443 : parsePort('--tls-port', values['tls-port'])
  if (values.tls !== true && (values['tls-port'] !== undefined || values['tls-dir'] !== undefined)) throw new UsageError('--tls-port and --tls-dir need --tls')
  if (values.tls === true) options.tls = { port: tlsPort, ...(values['tls-dir'] === undefined ? {} : { dir: values['tls-dir'] }) }
  return { help: values.help === true, ...(values.config === undefined ? {} : { configPath: values.config }), options }
}

/**
 * Runs the command line: prints the usage for --help (and returns undefined), else starts the
 * emulator, prints its addresses and credentials, and returns it running. `overrides` are merged
 * into the parsed options (a logger, say).
 */
export async function runEmulatorCli (argv: string[], io: { stdout: Writable } = { stdout: process.stdout }, overrides: StartEmulatorOptions = {}): Promise<RunningEmulator | undefined> {
  const { help, configPath, options } = parseEmulatorArgs(argv)
  if (help) {
    io.stdout.write(USAGE)
    return undefined
  }
  const fromFile = configPath === undefined ? {} : await readOptionsFile(configPath)
  const emu = await startEmulator({ logger: { level: 'info' }, ...fromFile, ...options, ...overrides })
  io.stdout.write(banner(emu))
  return emu
}

/** What a user needs to point a client at the emulator. */
export function banner (emu: RunningEmulator): string {
  const p = emu.principals[0]
  const lines = [
    `Databricks emulator on ${emu.url} (workspace id ${emu.workspaceId})`,
    emu.tls === undefined ? '' : `  https: ${emu.tls.url}   CA certificate: ${emu.tls.caPath} (trust it, e.g. NODE_EXTRA_CA_CERTS=${emu.tls.caPath})`,
    `  token endpoint: ${emu.url}/oidc/v1/token`,
    p === undefined ? '' : `  service principal: clientId=${p.clientId} clientSecret=${p.clientSecret}   (test credentials of this emulator only)`,
    ...Object.values(emu.endpoints).map(e => `  endpoint ${e.name}: id=${e.id} url=${emu.endpointUrl(e.name)}`)
  ]
  return lines.filter(l => l !== '').join('\n') + '\n'
}

/** `name` or `name=id`. */
function parseEndpoint (spec: string): EmulatorEndpoint {
  const eq = spec.indexOf('=')
  const name = eq === -1 ? spec : spec.slice(0, eq)
  const id = eq === -1 ? undefined : spec.slice(eq + 1)
  if (name === '' || id === '') throw new UsageError(`--endpoint takes NAME or NAME=ID, not '${spec}'`)
  return id === undefined ? { name } : { name, id }
}

async function readOptionsFile (path: string): Promise<EmulatorOptions> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read --config ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new UsageError(`--config ${path} is not JSON: ${(err as Error).message}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`--config ${path} must hold a JSON object`)
  const allowed = ['seed', 'workspaceId', 'principals', 'endpoints', 'tokenTtlSeconds', 'dataPlaneTokenTtlSeconds', 'streamIntervalMs', 'defaultMaxTokens', 'federationPolicies', 'readyDelayMs']
  const unknown = Object.keys(parsed).filter(k => !allowed.includes(k))
  if (unknown.length > 0) throw new UsageError(`--config ${path}: unknown option ${unknown.join(', ')} (allowed: ${allowed.join(', ')})`)
  return parsed as EmulatorOptions
}

function parsePort (flag: string, s: string): number {
  const n = Number(s)
  if (s === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${flag} must be 0..65535, not '${s}'`)
  return n
}
