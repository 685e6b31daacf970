// One keep-alive undici Pool per upstream origin, shared by the endpoints on that origin.
import { Pool } from 'undici'

export interface PoolSettings {
  connections: number
  connectTimeoutMs: number
}

export interface PoolStats {
  connected: number
  free: number
  pending: number
  running: number
}

export class Pools {
  readonly #pools = new Map<string, Pool>()
  readonly #keepAliveMs: number

  constructor (opts: { keepAliveTimeoutMs?: number } = {}) {
    this.#keepAliveMs = opts.keepAliveTimeoutMs ?? 60_000
  }

  /** The pool for `origin`, created with `settings` on first use. */
  get (origin: string, settings: PoolSettings): Pool {
    let pool = this.#pools.get(origin)
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections: settings.connections,
        connect: { timeout: settings.connectTimeoutMs },
        keepAliveTimeout: this.#keepAliveMs,
        keepAliveMaxTimeout: 10 * this.#keepAliveMs,
        // The endpoint's own headers/body timeouts are set per request.
        headersTimeout: 0,
        bodyTimeout: 0
      })
      this.#pools.set(origin, pool)
    }
    return pool
  }

  stats (origin: string): PoolStats | undefined {
    const s = this.#pools.get(origin)?.stats
    return s === undefined ? undefined : { connected: s.connected, free: s.free, pending: s.pending, running: s.running }
  }

  async close (): Promise<void> {
    await Promise.all([...this.#pools.values()].map(p => p.close()))
    this.#pools.clear()
  }

  async destroy (): Promise<void> {
    await Promise.all([...this.#pools.values()].map(p => p.destroy()))
    this.#pools.clear()
  }
}
