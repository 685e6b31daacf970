// `npm start` with no config: the embedded emulator plus a gateway configured for it, and a
// ready-to-paste curl line, so a new user sees a real scoped-token round trip in one command.
import { startEmulator, type RunningEmulator } from '@routegate/databricks-emulator'
import { sha256Hex } from '../../callers/keys.js'
import { parseConfig, type Config } from '../../config/load.js'
import { createRoutegate } from '../../server/routegate.js'
import { createLogger } from '../../server/logger.js'
import { newCallerKey } from './hash-key.js'
import { closeOnSignal } from './serve.js'

const DEMO_BODY = '{"dataframe_split":{"columns":["amount","merchant_risk"],"data":[[120.5,0.2],[9.99,0.7]]}}'

/** The gateway config the demo runs: every emulator endpoint, one caller allowed on all. */
export function demoConfig (emu: RunningEmulator, callerKey: string, listen: { host: string, port: number, adminPort: number }): Config {
  const principal = emu.principals[0]
  /* c8 ignore next */
  if (principal === undefined) throw new Error('emulator has no principal')
  return parseConfig({
    server: { host: listen.host, port: listen.port },
    admin: { host: listen.host, port: listen.adminPort },
    workspaces: [{ name: 'demo', host: emu.url, clientId: principal.clientId, clientSecret: principal.clientSecret }],
    endpoints: Object.values(emu.endpoints).map(e => ({ name: e.name, workspace: 'demo', url: emu.endpointUrl(e.name), endpointId: e.id })),
    callers: [{ name: 'demo-caller', keySha256: sha256Hex(callerKey), endpoints: ['*'] }]
  }, { env: {} })
}

export async function runDemo (opts: { port?: number | undefined, host?: string | undefined }): Promise<number> {
  const emu = await startEmulator({})
  const callerKey = newCallerKey()
  const host = opts.host ?? '127.0.0.1'
  const port = opts.port ?? 8080
  let config = demoConfig(emu, callerKey, { host, port, adminPort: port === 0 ? 0 : 9464 })
  const logger = createLogger({ level: 'info' })
  let rg = createRoutegate({ config, logger })
  let urls
  try {
    urls = await rg.listen()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || opts.port !== undefined) {
      // A busy port the user asked for: stop what did start, and fail with one line.
      await rg.close().catch(() => {})
      await emu.close().catch(() => {})
      throw err
    }
    // 8080 is often taken on a laptop: take any free ports rather than fail the demo.
    await rg.close()
    config = demoConfig(emu, callerKey, { host, port: 0, adminPort: 0 })
    rg = createRoutegate({ config, logger })
    urls = await rg.listen()
  }
  rg.warm().catch(() => {}) // never rejects; readiness reports each endpoint
  const endpoint = Object.keys(emu.endpoints)[0] ?? 'fraud-model'
  process.stdout.write([
    '',
    'routegate demo: a gateway in front of the bundled Databricks emulator',
    `  gateway:    ${urls.gatewayUrl}`,
    `  admin:      ${urls.adminUrl}  (/metrics /healthz /readyz)`,
    `  emulator:   ${emu.url}`,
    `  endpoints:  ${Object.keys(emu.endpoints).join(', ')}`,
    `  caller key: ${callerKey}   (generated for this run, shown once)`,
    '',
    'Try it:',
    `curl -sS ${urls.gatewayUrl}/serving-endpoints/${endpoint}/invocations -H 'Authorization: Bearer ${callerKey}' -H 'Content-Type: application/json' -d '${DEMO_BODY}'`,
    '',
    ''
  ].join('\n'))
  // The demo has no config file to reload; SIGHUP must not end it either.
  process.on('SIGHUP', () => { logger.info('demo: nothing to reload (no config file)') })
  closeOnSignal(rg, config, logger, () => emu.close())
  return -1
}
