// `routegate --config FILE`: runs the gateway until SIGTERM/SIGINT, then drains and exits 0.
import { createHash } from 'node:crypto'
import closeWithGrace from 'close-with-grace'
import { readFileBounded } from '../../io/read-file.js'
import { releaseEarlySighup } from '../early-sighup.js'
import { watchConfigFile, type ConfigWatchDeps, type ConfigWatcher } from '../../config/watch.js'
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
  // A SIGHUP held during start-up (cli/early-sighup.ts) is applied now, as if it came just now.
  if (releaseEarlySighup()) {
    logger.info('applying a SIGHUP received during start-up')
    reload(rg, opts.configPath, logger)
  }
  const watcher = config.server.watchConfig ? await watchAndReload(rg, opts.configPath, logger) : undefined
  closeOnSignal(rg, config, logger, async () => { watcher?.close() })
  return -1
}

/**
 * `server.watchConfig`: a change of the file's content (not a mere touch, nor the kubelet's
 * swap of an unchanged ConfigMap) is reloaded exactly as SIGHUP reloads it.
 */
export async function watchAndReload (rg: Routegate, configPath: string, logger: Logger, deps: ConfigWatchDeps = {}): Promise<ConfigWatcher> {
  let last = await contentDigest(configPath)
  return watchConfigFile(configPath, async () => {
    const now = await contentDigest(configPath)
    // Unreadable for a moment (mid-rename): the next event tries again; nothing to apply yet.
    if (now === undefined || now === last) return
    last = now
    logger.info({ file: configPath }, 'config file changed: reloading')
    reload(rg, configPath, logger)
  }, { ...deps, onError: err => { logger.error({ error: err.message, file: configPath }, 'config file watch failed: reload with SIGHUP') } })
}

async function contentDigest (path: string): Promise<string | undefined> {
  try {
    return createHash('sha256').update(await readFileBounded(path, { maxBytes: 4 * 1024 * 1024, timeoutMs: 5000 })).digest('hex')
  } catch {
    return undefined
  }
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
