// The Redis connection behind the store: @redis/client (node-redis, the Redis project's own
// client) narrowed to the calls the store makes. It reconnects by itself; while disconnected,
// commands fail at once instead of queueing (the store's backoff decides what happens then).
import { createClient } from '@redis/client'
import type { RedisLike } from './store.js'

export interface RedisConnectOptions {
  /** redis:// or rediss:// URL, credentials included (never logged). */
  url: string
  timeoutMs: number
  /** Told about connection errors, by class only: the client's messages may name the host. */
  onError?: (name: string) => void
}

/** Longest wait between two reconnect attempts: a restarted Redis is used again within seconds. */
const RECONNECT_MAX_MS = 1000

export function connectRedis (opts: RedisConnectOptions): RedisLike {
  const client = createClient({
    url: opts.url,
    // Commands sent while disconnected fail at once: a request never waits for a reconnect.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: Math.max(opts.timeoutMs, 1000),
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 5), RECONNECT_MAX_MS)
    }
  })
  // An 'error' listener keeps a failing connection from crashing the process.
  client.on('error', (err: unknown) => { opts.onError?.((err as Error)?.name ?? 'Error') })
  // Not awaited: the gateway starts (and serves, degraded) while the store is unreachable.
  const ready = client.connect().then(() => {}, (err: unknown) => { opts.onError?.((err as Error)?.name ?? 'Error') })
  return {
    ready,
    evalSha: async (sha, keys, args) => await client.evalSha(sha, { keys, arguments: args }),
    scriptLoad: async (script) => await client.scriptLoad(script),
    // destroy, not close: close waits for replies in flight, which a hung store never sends.
    close: async () => { client.destroy() }
  }
}
