// Holds a SIGHUP that arrives while the gateway starts. Node's default for SIGHUP is to exit, and
// the reload handler exists only once the config is loaded and the listeners are up (a few hundred
// milliseconds of module loading and start-up): an orchestrator or a `kill -HUP` in that window
// would kill the gateway. Imported first by the binary's entry points, so the listener is in place
// before the rest of the code loads; process-wide by nature, as the signal is.

let pending = false
const hold = (): void => { pending = true }
process.on('SIGHUP', hold)

/**
 * Stops holding SIGHUP and says whether one arrived meanwhile. The gateway calls it once its own
 * handler is installed (and applies the held reload); other commands call it at once, so a
 * hang-up ends them as it would by default.
 */
export function releaseEarlySighup (): boolean {
  process.removeListener('SIGHUP', hold)
  const was = pending
  pending = false
  return was
}
