// The command line: parses flags into start options, starts the emulator and prints how to reach it.
import { parseArgs } from 'node:util'
import type { Writable } from 'node:stream'
import type { RunningEmulator, StartEmulatorOptions } from './types.js'
import { startEmulator } from './start.js'
import { EMULATOR_ACTIONS } from './types.js'

export const USAGE = `databricks-emulator — an offline Databricks workspace for tests

Usage:
  databricks-emulator [options]

Options:
  -p, --port N              port (default 8081; 0 for any free port)
      --host H              listen address (default 127.0.0.1)
      --client-id ID        the service principal's client id (with --client-secret; default random)
      --client-secret S     its secret
  -h, --help                this text
`

/** A mistake in the flags: the binary prints it with the usage and exits 64. */
export class UsageError extends Error {
  readonly code = 'EMULATOR_USAGE'
}

export interface ParsedArgs {
  help: boolean
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
        'client-id': { type: 'string' },
        'client-secret': { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const options: StartEmulatorOptions = { port: values.port === undefined ? 8081 : parsePort(values.port), host: values.host ?? '127.0.0.1' }
  const clientId = values['client-id']
  const clientSecret = values['client-secret']
  if ((clientId === undefined) !== (clientSecret === undefined)) throw new UsageError('--client-id and --client-secret go together')
  if (clientId !== undefined && clientSecret !== undefined) {
    options.principals = [{ clientId, clientSecret, permissions: [{ endpoint: '*', actions: [...EMULATOR_ACTIONS] }] }]
  }
  return { help: values.help === true, options }
}

/**
 * Runs the command line: prints the usage for --help (and returns undefined), else starts the
 * emulator, prints its addresses and credentials, and returns it running. `overrides` are merged
 * into the parsed options (a logger, say).
 */
export async function runEmulatorCli (argv: string[], io: { stdout: Writable } = { stdout: process.stdout }, overrides: StartEmulatorOptions = {}): Promise<RunningEmulator | undefined> {
  const { help, options } = parseEmulatorArgs(argv)
  if (help) {
    io.stdout.write(USAGE)
    return undefined
  }
  const emu = await startEmulator({ logger: { level: 'info' }, ...options, ...overrides })
  io.stdout.write(banner(emu))
  return emu
}

/** What a user needs to point a client at the emulator. */
export function banner (emu: RunningEmulator): string {
  const p = emu.principals[0]
  const lines = [
    `Databricks emulator on ${emu.url} (workspace id ${emu.workspaceId})`,
    `  token endpoint: ${emu.url}/oidc/v1/token`,
    p === undefined ? '' : `  service principal: clientId=${p.clientId} clientSecret=${p.clientSecret}   (test credentials of this emulator only)`,
    ...Object.values(emu.endpoints).map(e => `  endpoint ${e.name}: id=${e.id} url=${emu.endpointUrl(e.name)}`)
  ]
  return lines.filter(l => l !== '').join('\n') + '\n'
}

function parsePort (s: string): number {
  const n = Number(s)
  if (s === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port must be 0..65535, not '${s}'`)
  return n
}
