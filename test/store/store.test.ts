// The shared store: the Lua bucket script against a real redis-server, the timeout, the backoff
// and its healing (a fake client and an injected clock), and the replica heartbeat.
import t from 'tap'
import { bucketsFor, decide, type BucketSpec, type BucketState } from '../../src/limits/buckets.js'
import { connectRedis } from '../../src/store/redis.js'
import { createStore, StoreUnavailable, type RedisLike } from '../../src/store/store.js'
import { startRedis } from '../helpers/redis.js'

t.test('the Lua script decides as the in-process code does, in Redis time', async t => {
  const redis = await startRedis(t)
  const client = connectRedis({ url: redis.url, timeoutMs: 1000 })
  const store = createStore({ client, keyPrefix: 'rg-test:', timeoutMs: 1000, replicaId: 'r1', now: () => performance.now(), heartbeatMs: 0 })
  t.teardown(() => store.close())
  await untilUp(store)
  const specs = [
    ...bucketsFor('caller', 'c', { requestsPerSecond: 0.001, burst: 3 }, undefined),
    ...bucketsFor('endpoint', 'e', { requestsPerSecond: 0.001, burst: 2 }, undefined)
  ]
  const seen: boolean[] = []
  for (let i = 0; i < 4; i++) seen.push((await store.decide(specs, false)).admitted)
  t.same(seen, [true, true, false, false], 'the endpoint (burst 2) refuses the third; the caller is not debited then')
  const last = await store.decide(specs, false)
  t.same(last.outcomes.map(o => o.fits), [true, false])
  t.ok(Math.abs((last.outcomes[0]?.level ?? 0) - 1) < 0.01, 'caller has 1 left')
  t.ok((last.outcomes[1]?.waitMs ?? 0) > 900_000, 'the wait comes back in ms')
  // Same sequence in process: the same decisions.
  let states: Array<BucketState | undefined> = [undefined, undefined]
  const local: boolean[] = []
  for (let i = 0; i < 4; i++) {
    const d = decide(specs, states, 0)
    local.push(d.admitted)
    states = states.map((s, j) => d.next[j] ?? s)
  }
  t.same(local, seen)
  t.match(await redis.command('PTTL', 'rg-test:caller:c:second'), /^:\d+/, 'buckets expire')
  // Reconciling: a forced debit of a token bucket, then a refund.
  const tokens: BucketSpec[] = bucketsFor('caller', 'c', { tokensPerMinute: 1000 }, 100)
  t.ok((await store.decide(tokens, false)).admitted)
  const after = await store.decide(tokens.map(s => ({ ...s, cost: 950 })), true, 'reconcile')
  t.ok((after.outcomes[0]?.level ?? 0) < -40, 'usage above the reservation is a debt')
})

t.test('NOSCRIPT (a restarted or flushed Redis) loads the script and answers', async t => {
  const redis = await startRedis(t)
  const store = createStore({ client: connectRedis({ url: redis.url, timeoutMs: 1000 }), keyPrefix: 'p:', timeoutMs: 1000, replicaId: 'r', now: () => performance.now(), heartbeatMs: 0 })
  t.teardown(() => store.close())
  await untilUp(store)
  const specs = bucketsFor('caller', 'c', { requestsPerMinute: 10 }, undefined)
  t.ok((await store.decide(specs, false)).admitted)
  await redis.command('SCRIPT', 'FLUSH')
  t.ok((await store.decide(specs, false)).admitted, 'after SCRIPT FLUSH')
  t.equal(store.state(), 'up')
})

t.test('heartbeats count the live replicas; a silent one drops out', async t => {
  const redis = await startRedis(t)
  const mk = (id: string): ReturnType<typeof createStore> => createStore({ client: connectRedis({ url: redis.url, timeoutMs: 1000 }), keyPrefix: 'hb:', timeoutMs: 1000, replicaId: id, now: () => performance.now(), heartbeatMs: 100 })
  const a = mk('a')
  const b = mk('b')
  t.teardown(async () => { await a.close(); await b.close() })
  t.equal(a.replicas(), 1, '1 before any heartbeat')
  // Bounded: a few heartbeat periods.
  for (let i = 0; i < 40 && (a.replicas() !== 2 || b.replicas() !== 2); i++) await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(a.replicas(), 2)
  await b.close()
  // b's entry ages out after 3 periods (300 ms).
  for (let i = 0; i < 40 && a.replicas() !== 1; i++) await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(a.replicas(), 1, 'b stopped beating')
})

/** Waits (bounded: 5 s) until the store's connection answers. */
async function untilUp (store: ReturnType<typeof createStore>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await store.heartbeat()) return
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error('store never answered')
}

/** A client whose calls hang, fail or answer as the test says. */
function fakeClient (): RedisLike & { mode: 'hang' | 'fail' | 'ok', calls: number } {
  const c = {
    mode: 'ok' as 'hang' | 'fail' | 'ok',
    calls: 0,
    async evalSha (): Promise<unknown> {
      c.calls++
      if (c.mode === 'hang') return await new Promise(() => {})
      if (c.mode === 'fail') throw new Error('connect ECONNREFUSED redis://user:hunter2@10.0.0.1')
      return [1, 1, '0', 0]
    },
    scriptLoad: async () => 'sha',
    close: async () => {}
  }
  return c
}

t.test('an operation never outlasts timeoutMs; after a failure the store is skipped for the backoff, then heals', async t => {
  let now = 0
  const client = fakeClient()
  const changes: Array<[boolean, string]> = []
  const ops: string[] = []
  const store = createStore({ client, keyPrefix: 'x:', timeoutMs: 30, replicaId: 'r', now: () => now, backoffMs: 1000, heartbeatMs: 0, onChange: (up, reason) => changes.push([up, reason]), observe: (op) => ops.push(op) })
  const specs = bucketsFor('caller', 'c', { requestsPerMinute: 10 }, undefined)
  t.equal(store.state(), 'unknown')
  client.mode = 'hang'
  const started = performance.now()
  await t.rejects(store.decide(specs, false), StoreUnavailable)
  // Generous bound for a loaded machine: the timer is 30 ms.
  t.ok(performance.now() - started < 1000, 'the hung call was abandoned at the timeout')
  t.equal(store.state(), 'down')
  client.mode = 'ok'
  const calls = client.calls
  await t.rejects(store.decide(specs, false), /backing off/)
  t.equal(client.calls, calls, 'not asked while backing off')
  now += 1000
  t.ok((await store.decide(specs, false)).admitted, 'asked again after the backoff')
  t.equal(store.state(), 'up')
  client.mode = 'fail'
  const err = await store.decide(specs, false).catch((e: unknown) => e) as Error
  t.notMatch(err.message, /hunter2|10\.0\.0\.1/, 'the client\'s message (which may hold the URL) is not passed on')
  t.ok(await store.heartbeat() === false)
  client.mode = 'ok'
  t.ok(await store.heartbeat(), 'the heartbeat probes even while backing off')
  t.equal(store.state(), 'up', 'healed by the heartbeat')
  t.same(changes.map(c => c[0]), [false, true, false, true])
  t.ok(ops.includes('limit') && ops.includes('heartbeat'))
  await store.close()
  await t.rejects(store.decide(specs, false), /closed/)
})
