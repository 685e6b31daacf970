// One keep-alive undici Pool per upstream origin and pool settings. Endpoints on one origin share
// a pool only when they ask for the same settings; otherwise each set gets its own, so no
// endpoint silently runs on another's connection limit, connect timeout or trusted CA.
import { readFileSync } from 'node:fs'
import { createSecureContext, rootCertificates } from 'node:tls'
import { Pool } from 'undici'

export interface PoolSettings {
  connections: number
  connectTimeoutMs: number
  /** PEM bundle trusted for the origin's TLS besides the system CAs. */
  caFile?: string | undefined
}

export interface PoolStats {
  connected: number
  free: number
  pending: number
  running: number
}

/** The key of the pool an origin with these settings uses (computed once per route, not per request). */
export function poolKey (origin: string, settings: PoolSettings): string {
  return `${origin} ${settings.connections} ${settings.connectTimeoutMs} ${settings.caFile ?? ''}`
}

export class Pools {
  readonly #pools = new Map<string, Pool>()
  readonly #keepAliveMs: number
  readonly #readFile: (path: string) => Buffer

  constructor (opts: { keepAliveTimeoutMs?: number, readFile?: (path: string) => Buffer } = {}) {
    this.#keepAliveMs = opts.keepAliveTimeoutMs ?? 60_000
    this.#readFile = opts.readFile ?? readFileSync
  }

  /** The pool for `key` (see poolKey), created with `settings` on first use. */
  get (key: string, origin: string, settings: PoolSettings): Pool {
    let pool = this.#pools.get(key)
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections: settings.connections,
        connect: {
          timeout: settings.connectTimeoutMs,
          // One secure context per pool: passing `ca` instead would build a new one (parsing
          // every root certificate) for each new connection. `ca` replaces Node's bundled roots,
          // so they are kept: a private CA is trusted besides them.
          ...(settings.caFile === undefined
            ? {}
            : { secureContext: createSecureContext({ ca: [...rootCertificates, this.#readFile(settings.caFile).toString('utf8')] }) })
        },
        keepAliveTimeout: this.#keepAliveMs,
        keepAliveMaxTimeout: 10 * this.#keepAliveMs,
        // The endpoint's own headers/body timeouts are set per request.
        headersTimeout: 0,
        bodyTimeout: 0
      })
      this.#pools.set(key, pool)
    }
    return pool
  }

  /** How many distinct pools exist (tests: shared or separate). */
  get size (): number { return this.#pools.size }

  stats (key: string): PoolStats | undefined {
    const s = this.#pools.get(key)?.stats
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
