// `routegate --config FILE`: runs the gateway until SIGTERM/SIGINT, then drains and exits 0.
import closeWithGrace from 'close-with-grace'
import { configWarnings, loadConfig, type Config } from '../../config/load.js'
import { createRoutegate, type Routegate } from '../../server/routegate.js'
import { createLogger } from '../../server/logger.js'
import type { Logger } from 'pino'

export async function runServe (opts: { configPath: string }): Promise<number> {
  const config = loadConfig(opts.configPath)
  const logger = createLogger({ level: config.log.level })
  for (const w of configWarnings(config)) logger.warn({ field: w.field }, `${w.field}: ${w.message}`)
  const rg = createRoutegate({ config, logger })
  let urls: { gatewayUrl: string, adminUrl: string }
  try {
    urls = await rg.listen()
  } catch (err) {
    await rg.close().catch(() => {})
    throw err
  }
  const { gatewayUrl, adminUrl } = urls
  // /readyz stays 503 until every endpoint's token was tried.
  rg.warm().catch(() => {}) // never rejects; readiness reports each endpoint
  logger.info({ gateway: gatewayUrl, admin: adminUrl, endpoints: config.endpoints.map(e => e.name) }, 'routegate listening')
  process.on('SIGHUP', () => { reload(rg, opts.configPath, logger) })
  closeOnSignal(rg, config, logger)
  return -1
}

/**
 * SIGHUP: re-reads the config file and swaps it in for new requests. An invalid file is logged
 * (the field named, never a secret) and the running config keeps serving.
 */
export function reload (rg: Routegate, configPath: string, logger: Logger): void {
  let next: Config
  try {
    next = loadConfig(configPath)
  } catch (err) {
    rg.metrics.configReloads.inc({ result: 'failure' })
    logger.error({ error: (err as Error).message }, 'config reload refused: the running config keeps serving')
    return
  }
  try {
    // reload() counts its own outcome, success or failure.
    const { needsRestart } = rg.reload(next)
    logger.info({ endpoints: next.endpoints.map(e => e.name), callers: next.callers.length, needsRestart }, 'config reloaded')
  } catch (err) {
    logger.error({ error: (err as Error).message }, 'config reload refused: the running config keeps serving')
  }
}

/** Graceful exit: stop accepting, let in-flight requests finish within the grace period, exit 0. */
export function closeOnSignal (rg: Routegate, config: Config, logger: Logger, also: () => Promise<void> = async () => {}): void {
  const grace = config.server.shutdownGraceMs
  // SIGHUP reloads (see reload()); it must not end the process.
  closeWithGrace({ delay: grace + 5000, skip: ['SIGHUP'], logger: { error: (m: unknown) => logger.error(m) } }, async ({ signal, err }) => {
    // Exit code 0 whether the drain finished or the grace period cut requests (the log says which).
    if (err !== undefined) logger.error({ err }, 'fatal error, shutting down')
    else logger.info({ signal }, 'shutting down: draining in-flight requests')
    const { cut } = await rg.drain(grace)
    if (cut > 0) logger.warn({ graceMs: grace, cut }, `grace period over: cut ${cut} request(s) still in flight`)
    else logger.info('drained: nothing in flight')
    await rg.close()
    await also()
    logger.info('stopped')
    logger.flush()
  })
}
