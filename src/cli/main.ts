// The CLI: parses argv and dispatches to one command; index.ts (the binary) and npm-start.ts are the entry points.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { runCheckConfig } from './commands/check-config.js'
import { runHashKey } from './commands/hash-key.js'
import { runServe } from './commands/serve.js'
import { releaseEarlySighup } from './early-sighup.js'
import { UsageError } from '../errors.js'

const USAGE = `routegate — token-brokering gateway for Databricks route-optimized serving endpoints

Usage:
  routegate --config FILE              run the gateway (or set ROUTEGATE_CONFIG=FILE)
  routegate demo [--port N] [--host H] demo: embedded emulator + a gateway configured for it
  routegate emulator [FLAGS]           run the Databricks emulator alone (its flags: routegate emulator --help)
  routegate check-config --config FILE validate and print the resolved config, secrets masked
  routegate hash-key [KEY]             make a caller key (or take KEY) and print its sha256
  routegate endpoints create|get|list|wait|delete ...
                                       serving endpoints of a workspace (routegate endpoints --help)
  routegate token ENDPOINT --config FILE | --admin URL
                                       scope, action and expiry of the gateway's token (routegate token --help)
  routegate --version                  print the version

Options:
  -c, --config FILE   config file (YAML or JSON)
  -p, --port N        demo: gateway port (default 8080, admin on 9464)
      --host H        demo: listen address (default 127.0.0.1)
                      (with --config a usage error: set server.port and server.host in the file)
  -v, --version       print the version
  -h, --help          this text
`

export interface MainOptions {
  /**
   * What to do with no command and no config: `usage` for the binary (a production container
   * with a missing variable must not become a demo gateway), `demo` for `npm start`.
   */
  withoutConfig: 'usage' | 'demo'
}

export async function main (argv: string[], opts: MainOptions): Promise<number> {
  // Only the gateway reloads on SIGHUP; any other command hangs up as by default.
  if (argv[0] === 'emulator' || argv[0] === 'endpoints' || argv[0] === 'token') releaseEarlySighup()
  // Commands with options of their own parse the rest of the line themselves (the emulator's
  // are the emulator package's).
  if (argv[0] === 'emulator') return await (await emulatorCommand()).runEmulator(argv.slice(1))
  if (argv[0] === 'endpoints') return await (await import('./commands/endpoints.js')).runEndpoints(argv.slice(1))
  if (argv[0] === 'token') return await (await import('./commands/token.js')).runToken(argv.slice(1))
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' }
    }
  })
  if (values.help === true) {
    process.stdout.write(USAGE)
    return 0
  }
  if (values.version === true) {
    process.stdout.write(`routegate ${version()}\n`)
    return 0
  }
  const [command, ...rest] = positionals
  const configPath = values.config ?? (process.env.ROUTEGATE_CONFIG === '' ? undefined : process.env.ROUTEGATE_CONFIG)
  if (!((command === undefined || command === 'serve') && configPath !== undefined)) releaseEarlySighup()
  const port = values.port === undefined ? undefined : parsePort(values.port)
  const listenFlags = values.port !== undefined || values.host !== undefined
  // A gateway listens where its config says: a flag that would be silently ignored is refused.
  if (listenFlags && command !== 'demo' && command !== 'emulator' && !(command === undefined && configPath === undefined)) {
    throw new UsageError(configPath === undefined
      ? '--port and --host are for demo and emulator'
      : '--port and --host are for demo and emulator; with --config, set server.port and server.host in the file')
  }
  switch (command) {
    case undefined:
    case 'serve':
      if (configPath === undefined) {
        if (command === undefined && opts.withoutConfig === 'demo') return await (await demoCommand()).runDemo({ port, host: values.host })
        throw new UsageError('no config: pass --config FILE or set ROUTEGATE_CONFIG (the demo runs only as `routegate demo`)')
      }
      return await runServe({ configPath })
    case 'demo':
      return await (await demoCommand()).runDemo({ port, host: values.host })
    case 'emulator':
      throw new UsageError('emulator flags go after the command: routegate emulator [--port N] …')
    case 'check-config':
      if (configPath === undefined) throw new UsageError('check-config needs --config FILE')
      return runCheckConfig({ configPath })
    case 'hash-key':
      return runHashKey({ key: rest[0] })
    default:
      throw new UsageError(`unknown command '${command}'`)
  }
}

// The emulator is loaded only by the commands that run it: the production image leaves it out.
async function demoCommand (): Promise<typeof import('./commands/demo.js')> {
  return await withEmulator(async () => await import('./commands/demo.js'))
}
async function emulatorCommand (): Promise<typeof import('./commands/emulator.js')> {
  return await withEmulator(async () => await import('./commands/emulator.js'))
}
async function withEmulator<T> (load: () => Promise<T>): Promise<T> {
  try {
    return await load()
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw err
    throw new Error('this build has no Databricks emulator (the production image leaves it out): run the demo from a checkout (npm start)')
  }
}

/** The package's version, from the package.json next to dist/ (or src/ in a checkout). */
function version (): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }
  return String(pkg.version)
}

function parsePort (s: string): number {
  const n = Number(s)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port must be 0..65535, not '${s}'`)
  return n
}

/** Runs main and sets the exit code: 64 for usage errors, 1 for any other failure (one line on stderr). */
export function run (argv: string[], opts: MainOptions): void {
  main(argv, opts).then((code) => {
    // Long-running commands resolve to -1 and keep the process alive until a signal.
    if (code >= 0) process.exitCode = code
  }, (err: Error & { code?: string }) => {
    const usage = err instanceof UsageError || err.code === 'EMULATOR_USAGE' || err.code === 'ROUTEGATE_ERR_INVALID_ARGUMENT' || err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
    process.stderr.write(`routegate: ${err.message}\n${usage ? '\n' + (err instanceof UsageError && err.usage !== undefined ? err.usage : USAGE) : ''}`)
    // Something may still hold the event loop (a listener that did start): exit now.
    // A config mistake that is a mistake in what was typed (a workspace host with a path) is 64 too.
    process.exit(usage || (err as { exitCode?: unknown }).exitCode === 64 ? 64 : 1)
  })
}
