// The shared store (store.redis): bucket decisions for cluster-wide limits and replica
// heartbeats, over a Redis client. Every operation is bounded by timeoutMs; after a failure the
// store is skipped for a backoff period (requests fail fast to their onStoreFailure instead of
// waiting on a dead store) and the heartbeat probes it, so it heals by itself. It holds counters
// only: bucket levels keyed by configured scope names and replica ids (docs/governance.md).
import type { BucketSpec, Decision } from '../limits/buckets.js'
import { BUCKETS_SCRIPT, HEARTBEAT_SCRIPT, sha1 } from './lua.js'

/** The few Redis calls the store makes (an adapter over @redis/client, or a fake in tests). */
export interface RedisLike {
  evalSha: (sha: string, keys: string[], args: string[]) => Promise<unknown>
  scriptLoad: (script: string) => Promise<string>
  close: () => Promise<void>
  /** Resolves when the first connection is up (the first heartbeat waits for it). */
  ready?: Promise<void>
}

export type StoreOp = 'limit' | 'reconcile' | 'heartbeat'

export interface StoreOptions {
  client: RedisLike
  keyPrefix: string
  timeoutMs: number
  /** This replica's id in the heartbeat set (random per process: not a secret, not a name). */
  replicaId: string
  /** Monotonic ms. */
  now: () => number
  /** How long the store is skipped after a failure. */
  backoffMs?: number
  /** Heartbeat period; a replica silent for 3 periods no longer counts. 0: no heartbeat timer. */
  heartbeatMs?: number
  /** Latency of each operation, in seconds, successful or not. */
  observe?: (op: StoreOp, seconds: number) => void
  /** Told when the store turns up or down (for the log). */
  onChange?: (up: boolean, reason: string) => void
}

export type StoreState = 'up' | 'down' | 'unknown'

export interface Store {
  /** Runs the bucket decision in the store; rejects (StoreUnavailable) when it cannot answer in time. */
  decide: (specs: readonly BucketSpec[], force: boolean, op?: StoreOp) => Promise<Decision>
  /** One heartbeat now (the timer calls it too); resolves whether it succeeded. */
  heartbeat: () => Promise<boolean>
  /** `up` after a success, `down` after a failure, `unknown` before either. */
  state: () => StoreState
  /** Live replicas seen at the last heartbeat; 1 if never seen. */
  replicas: () => number
  close: () => Promise<void>
}

/** The store did not answer: skipped (backing off), timed out, or failed. Never carries the URL. */
export class StoreUnavailable extends Error {
  override get name (): string { return 'StoreUnavailable' }
}

const BUCKETS_SHA = sha1(BUCKETS_SCRIPT)
const HEARTBEAT_SHA = sha1(HEARTBEAT_SCRIPT)

export function createStore (opts: StoreOptions): Store {
  const { client, timeoutMs, now } = opts
  const backoffMs = opts.backoffMs ?? 1000
  const heartbeatMs = opts.heartbeatMs ?? 1000
  const replicasKey = `${opts.keyPrefix}replicas`
  let state: StoreState = 'unknown'
  let skipUntil = 0
  let replicas = 1
  let closed = false

  function failed (reason: string): void {
    skipUntil = now() + backoffMs
    if (state !== 'down') opts.onChange?.(false, reason)
    state = 'down'
  }
  function succeeded (): void {
    skipUntil = 0
    if (state !== 'up') opts.onChange?.(true, 'answered')
    state = 'up'
  }

  /**
   * EVALSHA, loading the script on NOSCRIPT (a restarted or flushed Redis) and trying once more,
   * all within one timeoutMs: the caller never waits longer.
   */
  async function evalScript (script: string, sha: string, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await client.evalSha(sha, keys, args)
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err
      await client.scriptLoad(script)
      return await client.evalSha(sha, keys, args)
    }
  }

  async function run<T> (op: StoreOp, probe: boolean, work: () => Promise<T>): Promise<T> {
    if (closed) throw new StoreUnavailable('store closed')
    // Fail fast while backing off; the heartbeat (a probe) still tries, so the store heals.
    if (!probe && now() < skipUntil) throw new StoreUnavailable('store backing off after a failure')
    const start = now()
    let timer: NodeJS.Timeout | undefined
    try {
      const result = await Promise.race([
        work(),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => { reject(new StoreUnavailable(`store did not answer within ${timeoutMs} ms`)) }, timeoutMs)
        })
      ])
      succeeded()
      return result
    } catch (err) {
      // The client's message may name the host; only its class goes further.
      const reason = err instanceof StoreUnavailable ? err.message : `store error (${(err as Error).name})`
      failed(reason)
      throw err instanceof StoreUnavailable ? err : new StoreUnavailable(reason)
    } finally {
      clearTimeout(timer)
      opts.observe?.(op, (now() - start) / 1000)
    }
  }

  async function heartbeat (): Promise<boolean> {
    try {
      const n = await run('heartbeat', true, async () => await evalScript(HEARTBEAT_SCRIPT, HEARTBEAT_SHA, [replicasKey], [opts.replicaId, String(heartbeatMs * 3)]))
      if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 1) replicas = n
      return true
    } catch {
      return false
    }
  }

  let timer: NodeJS.Timeout | undefined
  if (heartbeatMs > 0) {
    timer = setInterval(() => { heartbeat().catch(() => {}) }, heartbeatMs)
    timer.unref()
    // The first heartbeat waits for the connection: one sent before it would fail and back off.
    const connected = client.ready ?? Promise.resolve()
    connected.then(heartbeat).catch(() => {})
  }

  return {
    async decide (specs, force, op = 'limit') {
      const keys = specs.map(s => `${opts.keyPrefix}${s.key}`)
      const args = [force ? '1' : '0']
      for (const s of specs) args.push(String(s.capacity), String(s.perMs), String(s.cost), s.shadow ? '1' : '0')
      const reply = await run(op, false, async () => await evalScript(BUCKETS_SCRIPT, BUCKETS_SHA, keys, args))
      return parseDecision(reply, specs.length)
    },
    heartbeat,
    state: () => state,
    replicas: () => replicas,
    async close () {
      closed = true
      clearInterval(timer)
      await client.close().catch(() => {})
    }
  }
}

/** The bucket script's reply, checked: anything else is a failed store operation. */
export function parseDecision (reply: unknown, n: number): Decision {
  if (!Array.isArray(reply) || reply.length !== 1 + 3 * n) throw new StoreUnavailable('store answered an unexpected reply')
  const outcomes = []
  for (let i = 0; i < n; i++) {
    const level = Number(reply[2 + 3 * i])
    const waitMs = Number(reply[3 + 3 * i])
    if (!Number.isFinite(level) || !Number.isFinite(waitMs)) throw new StoreUnavailable('store answered an unexpected reply')
    outcomes.push({ fits: reply[1 + 3 * i] === 1, level, waitMs })
  }
  return { admitted: reply[0] === 1, outcomes }
}
