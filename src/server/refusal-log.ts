// Connections the gateway could not take: refused at server.maxConnections ('drop'), or not
// accepted because the process or the system is out of file descriptors (an accept error,
// EMFILE/ENFILE, which Node reports as a server 'error' event and would otherwise be silent or,
// with no listener, fatal). Each kind is logged when it starts and then at most once per
// interval, with how many were refused since the last line, so a flood costs a few log lines.
import type { EventEmitter } from 'node:events'
import type { Logger } from 'pino'

export const REFUSAL_LOG_MS = 10_000

export interface RefusalLogDeps {
  intervalMs?: number
  setTimeout?: (fn: () => void, ms: number) => { unref?: () => unknown }
}

/** Calls `emit(count)` for the first hit, then once per interval with the hits since, while any come. */
export function intervalCounter (emit: (count: number) => void, deps: RefusalLogDeps = {}): () => void {
  const intervalMs = deps.intervalMs ?? REFUSAL_LOG_MS
  const setT = deps.setTimeout ?? ((fn: () => void, ms: number) => setTimeout(fn, ms))
  let count = 0
  let waiting = false
  const tick = (): void => {
    waiting = false
    if (count === 0) return
    emit(count)
    count = 0
    arm()
  }
  const arm = (): void => {
    waiting = true
    setT(tick, intervalMs).unref?.()
  }
  return () => {
    count++
    if (waiting) return
    emit(count)
    count = 0
    arm()
  }
}

/** Wires the two refusals of `server` to warnings on `logger`. */
export function logRefusals (server: EventEmitter, logger: Logger, maxConnections: number, deps: RefusalLogDeps = {}): void {
  const dropped = intervalCounter(n => {
    logger.warn({ maxConnections, dropped: n }, 'connection cap reached: refusing new connections (server.maxConnections)')
  }, deps)
  const noFds = new Map<string, () => void>()
  server.on('drop', dropped)
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.syscall === 'accept' && (err.code === 'EMFILE' || err.code === 'ENFILE')) {
      const code = err.code
      let hit = noFds.get(code)
      if (hit === undefined) {
        hit = intervalCounter(n => {
          logger.error({ code, refused: n }, code === 'EMFILE'
            ? 'out of file descriptors (EMFILE): new connections are refused; raise the process limit (ulimit -n / LimitNOFILE) or lower server.maxConnections'
            : 'the system is out of file descriptors (ENFILE): new connections are refused')
        }, deps)
        noFds.set(code, hit)
      }
      hit()
      return
    }
    // Listen errors are handled where listen() is called; anything else is worth a line.
    if (err.syscall !== 'listen') logger.error({ code: err.code, syscall: err.syscall }, `server error: ${err.message}`)
  })
}
