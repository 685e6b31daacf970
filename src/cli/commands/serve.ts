// `routegate --config FILE`: runs the gateway until SIGTERM/SIGINT, then drains and exits 0.
import closeWithGrace from 'close-with-grace'
import { loadConfig, type Config } from '../../config/load.js'
import { createRoutegate, type Routegate } from '../../server/routegate.js'
import { createLogger } from '../../server/logger.js'
import type { Logger } from 'pino'

export async function runServe (opts: { configPath: string }): Promise<number> {
  const config = loadConfig(opts.configPath)
  const logger = createLogger({ level: config.log.level })
  const rg = createRoutegate({ config, logger })
  const { gatewayUrl, adminUrl } = await rg.listen()
  rg.warm()
  logger.info({ gateway: gatewayUrl, admin: adminUrl, endpoints: config.endpoints.map(e => e.name) }, 'routegate listening')
  closeOnSignal(rg, config, logger)
  return -1
}

/** Graceful exit: stop accepting, let in-flight requests finish within the grace period, exit 0. */
export function closeOnSignal (rg: Routegate, config: Config, logger: Logger, also: () => Promise<void> = async () => {}): void {
  const grace = config.server.shutdownGraceMs
  closeWithGrace({ delay: grace + 5000, logger: { error: (m: unknown) => logger.error(m) } }, async ({ signal, err }) => {
    if (err !== undefined) logger.error({ err }, 'fatal error, shutting down')
    else logger.info({ signal }, 'shutting down: draining in-flight requests')
    let timer: NodeJS.Timeout | undefined
    const drained = await Promise.race([
      rg.close().then(() => true),
      new Promise<false>(resolve => { timer = setTimeout(() => resolve(false), grace) })
    ])
    clearTimeout(timer)
    if (!drained) {
      logger.warn({ graceMs: grace }, 'grace period over: cutting remaining requests')
      await rg.pools.destroy()
    }
    await also()
    logger.info('stopped')
    logger.flush()
  })
}
