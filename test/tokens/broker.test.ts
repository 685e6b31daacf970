import t from 'tap'
import { pino } from 'pino'
import { TokenBroker, type TokenSpec } from '../../src/tokens/broker.js'
import type { MintedToken } from '../../src/tokens/grants.js'
import { TokenEndpointError } from '../../src/errors.js'
import { manualTime, runUntilSettled } from '../helpers/manual-time.js'

const logger = pino({ level: 'silent' })

/** A controllable mint: counts calls and resolves tokens in order, with a lifetime in ms. */
function fakeMint (lifetimeMs: number) {
  let n = 0
  const pending: Array<{ resolve: (m: MintedToken) => void, reject: (e: Error) => void }> = []
  return {
    get calls () { return n },
    pending,
    auto: true,
    fail: undefined as Error | undefined,
    mint (this: any): Promise<MintedToken> {
      n++
      if (this.fail !== undefined) return Promise.reject(this.fail)
      if (this.auto) return Promise.resolve({ accessToken: `tok-${n}`, expiresInMs: lifetimeMs })
      return new Promise((resolve, reject) => pending.push({ resolve, reject }))
    }
  }
}

function setup (lifetimeMs = 3_600_000) {
  const time = manualTime(1_000_000)
  const m = fakeMint(lifetimeMs)
  const events: string[] = []
  const broker = new TokenBroker({
    logger,
    now: time.now,
    monotonic: time.monotonic,
    timers: time.timers,
    random: () => 0.5,
    refreshJitterMs: 0,
    events: { lookup: r => events.push(r), fetched: (_w, r) => events.push(`fetch:${r}`) }
  })
  const spec: TokenSpec = { key: 'ws\0id\0query', workspace: 'ws', endpoint: 'fraud', mint: () => m.mint() }
  return { broker, spec, m, events, time, advance: time.advance }
}

t.test('caches: one mint serves many look-ups', async t => {
  const { broker, spec, m, events } = setup()
  for (let i = 0; i < 100; i++) t.equal(await broker.get(spec), 'tok-1')
  t.equal(m.calls, 1)
  t.equal(events.filter(e => e === 'hit').length, 99)
  t.equal(events.filter(e => e === 'miss').length, 1)
})

t.test('concurrent cold look-ups share one mint', async t => {
  const { broker, spec, m } = setup()
  m.auto = false
  const all = Promise.all(Array.from({ length: 50 }, () => broker.get(spec)))
  await new Promise(resolve => setImmediate(resolve))
  t.equal(m.calls, 1)
  m.pending[0]?.resolve({ accessToken: 'shared', expiresInMs: 3_600_000 })
  t.same(new Set(await all), new Set(['shared']))
})

t.test('stale tokens are served while one background refresh runs', async t => {
  const { broker, spec, m, advance } = setup(3_600_000)
  await broker.get(spec)
  // Stale once less than min(20 min, half the lifetime) remains: after 40 min of a 60 min token.
  await advance(40 * 60_000 - 1)
  t.equal(await broker.get(spec), 'tok-1')
  t.equal(m.calls, 1, 'fresh just before the stale point')
  await advance(2)
  m.auto = false
  t.equal(await broker.get(spec), 'tok-1', 'stale token still served')
  t.equal(await broker.get(spec), 'tok-1')
  t.equal(m.calls, 2, 'exactly one refresh started')
  m.pending[0]?.resolve({ accessToken: 'tok-new', expiresInMs: 3_600_000 })
  await new Promise(resolve => setImmediate(resolve))
  t.equal(await broker.get(spec), 'tok-new')
  t.equal(broker.status(spec.key).state, 'valid')
})

t.test('an unusable token is never returned', async t => {
  const { broker, spec, m, advance } = setup(3_600_000)
  await broker.get(spec)
  // Unusable once less than min(40 s, a tenth of the lifetime) remains.
  await advance(3_600_000 - 40_000)
  m.auto = false
  const p = broker.get(spec)
  await new Promise(resolve => setImmediate(resolve))
  t.equal(m.calls, 2)
  t.equal(broker.status(spec.key).state, 'none')
  m.pending[0]?.resolve({ accessToken: 'tok-2', expiresInMs: 3_600_000 })
  t.equal(await p, 'tok-2')
})

t.test('short lifetimes scale the windows (honours expires_in)', async t => {
  const { broker, spec, m, advance } = setup(4000)
  await broker.get(spec)
  await advance(1999)
  await broker.get(spec)
  t.equal(m.calls, 1, 'fresh for half of a 4 s lifetime')
  await advance(2)
  await broker.get(spec)
  t.equal(m.calls, 2, 'stale after half')
})

t.test('a failed refresh keeps serving the valid token and backs off', async t => {
  const { broker, spec, m, advance } = setup(3_600_000)
  await broker.get(spec)
  await advance(45 * 60_000)
  m.fail = new TokenEndpointError('token endpoint request failed (ECONNREFUSED)', { reason: 'temporarily_unavailable', transport: 'ECONNREFUSED' })
  t.equal(await broker.get(spec), 'tok-1')
  await new Promise(resolve => setImmediate(resolve))
  t.equal(m.calls, 2)
  for (let i = 0; i < 20; i++) t.equal(await broker.get(spec), 'tok-1')
  t.equal(m.calls, 2, 'no new attempt inside the backoff window')
  t.equal(broker.status(spec.key).lastError, 'temporarily_unavailable', 'a code of the fixed list, never the transport detail')
  await advance(1000)
  await broker.get(spec)
  t.equal(m.calls, 3, 'retried after the backoff')
})

t.test('with nothing usable, callers fail fast during backoff with Retry-After', async t => {
  const { broker, spec, m, advance } = setup()
  m.fail = new TokenEndpointError('nope', { reason: 'temporarily_unavailable', retryAfterMs: 7000 })
  const first = await broker.get(spec).catch(e => e)
  t.equal(first.code, 'TOKEN_UNAVAILABLE')
  t.equal(first.statusCode, 503)
  for (let i = 0; i < 10; i++) {
    const err = await broker.get(spec).catch(e => e)
    t.equal(err.code, 'TOKEN_UNAVAILABLE')
    t.equal(err.headers['retry-after'], '7', 'Retry-After honoured')
  }
  t.equal(m.calls, 1)
  await advance(7000)
  m.fail = undefined
  t.equal(await broker.get(spec), 'tok-2')
})

t.test('credential errors back off slowly', async t => {
  const { broker, spec, m, advance } = setup()
  m.fail = new TokenEndpointError('bad', { reason: 'invalid_client' })
  for (let s = 0; s < 120; s++) {
    await broker.get(spec).catch(() => {})
    await advance(1000)
  }
  t.ok(m.calls <= 4, `attempts over 2 minutes stayed bounded (${m.calls})`)
})

t.test('invalidate marks only the token it names; the next look-up mints a replacement', async t => {
  const { broker, spec, m, advance } = setup()
  await broker.get(spec)
  t.equal(broker.invalidate(spec, 'some-older-token'), false, 'a 401 for an older token changes nothing')
  t.equal(await broker.get(spec), 'tok-1')
  await advance(1000)
  t.equal(broker.invalidate(spec, 'tok-1'), true)
  t.equal(broker.invalidate(spec, 'tok-1'), false, 'reported once')
  t.equal(await broker.get(spec), 'tok-2')
  t.equal(m.calls, 2)
})

t.test('refused replacements back off (1 s doubling): an always-403 endpoint costs a few mints, not one per request', async t => {
  const { broker, spec, m, time, advance } = setup()
  let mints = 0
  // 60 requests 100 ms apart (about 7 s with the waits for a mint's one-second slot), each refused by the endpoint.
  for (let i = 0; i < 60; i++) {
    const token = await runUntilSettled(time, broker.get(spec))
    broker.invalidate(spec, token)
    await advance(100)
  }
  mints = m.calls
  t.ok(mints >= 3 && mints <= 5, `${mints} mints over 60 refused requests in about 7 s`)
  const held = await broker.get(spec)
  t.equal(m.calls, mints, 'while backing off, the refused token is served (callers see the endpoint\'s 403)')
  t.match(held, /^tok-/)
  // Once a token is accepted, the refusals are over.
  await advance(60_000)
  const next = await broker.get(spec)
  broker.accepted(spec, next)
  await advance(1000)
  broker.invalidate(spec, next)
  await broker.get(spec)
  t.equal(m.calls, mints + 2, 'a single refusal after an accepted token is replaced at once')
})

t.test('never more than one mint per key per second, whatever the answers', async t => {
  const { broker, spec, m, time } = setup()
  await broker.get(spec)
  broker.invalidate(spec, 'tok-1')
  let replacement: string | undefined
  const replaced = broker.get(spec).then(v => { replacement = v })
  await time.advance(999)
  t.equal(m.calls, 1, 'no second mint within the second')
  t.equal(replacement, undefined, 'the caller waits for the slot')
  await time.advance(1)
  await replaced
  t.equal(replacement, 'tok-2', 'the replacement, one second after the first mint')
  t.equal(m.calls, 2)
})

t.test('close() ends a wait for the mint slot at once, and leaves no timer behind', async t => {
  const { broker, spec, m, time } = setup()
  await broker.get(spec)
  broker.invalidate(spec, 'tok-1')
  const waiting = broker.get(spec)
  await time.advance(10)
  t.equal(time.pending(), 1, 'waiting for the slot')
  broker.close()
  t.equal(await waiting, 'tok-1', 'the mint fails as closed: the caller gets the held (refused) token')
  t.equal(time.pending(), 0)
  t.equal(m.calls, 1)
  const err = await broker.get(spec).catch(e => e)
  t.equal(err.code, 'TOKEN_UNAVAILABLE', 'a closed broker mints nothing')
  t.equal(m.calls, 1)
})

t.test('a mint that exceeds the fetch timeout is aborted and fails as TOKEN_UNAVAILABLE', async t => {
  const time = manualTime()
  const broker = new TokenBroker({ logger, fetchTimeoutMs: 50, now: time.now, timers: time.timers })
  t.teardown(() => broker.close())
  let aborted = false
  const spec: TokenSpec = {
    key: 'k',
    workspace: 'ws',
    endpoint: 'e',
    mint: (signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => { aborted = true; reject(new Error('aborted')) }))
  }
  const answer = broker.get(spec).catch(e => e)
  await time.advance(49)
  t.equal(aborted, false, 'still within the timeout')
  await time.advance(1)
  const err = await answer
  t.equal(aborted, true, 'aborted at the timeout')
  t.equal(err.code, 'TOKEN_UNAVAILABLE')
  t.equal(broker.status('k').lastError, 'temporarily_unavailable')
  t.equal(time.pending(), 0, 'no timer left behind')
})

t.test('refresh jitter is uniform in [0, min(refreshJitterMs, lifetime / 10)], even for short lifetimes', async t => {
  const lifetime = 4 * 60_000 // under 5 min, where the jitter once collapsed to its cap
  const points: number[] = []
  for (const r of [0, 0.25, 0.5, 0.75, 0.99]) {
    let clock = 1_000_000
    const events: string[] = []
    const broker = new TokenBroker({ logger, now: () => clock, random: () => r, refreshJitterMs: 30_000, events: { lookup: e => events.push(e) } })
    const spec: TokenSpec = { key: 'k', workspace: 'ws', endpoint: 'e', mint: async () => ({ accessToken: 'tok', expiresInMs: lifetime }) }
    await broker.get(spec)
    // Stale at lifetime/2 before expiry, less the jitter: 120 s minus r × 24 s after minting.
    const expected = 1_000_000 + lifetime / 2 - r * (lifetime / 10)
    clock = Math.ceil(expected) - 1
    events.length = 0
    await broker.get(spec)
    t.same(events, ['hit'], `r=${r}: still fresh just before`)
    clock = Math.ceil(expected)
    events.length = 0
    await broker.get(spec)
    t.same(events, ['refresh'], `r=${r}: stale at the jittered point`)
    points.push(expected)
    broker.close()
  }
  t.equal(new Set(points).size, points.length, 'distinct refresh points')
  t.ok(Math.max(...points) - Math.min(...points) > 20_000, 'spread over about the whole 24 s window')
})

t.test('each key keeps its own refresh and backoff: a stuck key never delays another', async t => {
  let clock = 1_000_000
  const broker = new TokenBroker({ logger, now: () => clock, random: () => 0.5, refreshJitterMs: 0, fetchTimeoutMs: 60_000 })
  t.teardown(() => broker.close())
  let stuckCalls = 0
  const stuck: TokenSpec = { key: 'stuck', workspace: 'ws', endpoint: 'a', mint: async () => { stuckCalls++; return await new Promise<MintedToken>(() => {}) } }
  let n = 0
  const healthy: TokenSpec = { key: 'healthy', workspace: 'ws', endpoint: 'b', mint: async () => ({ accessToken: `h-${++n}`, expiresInMs: 60_000 }) }
  const hung = broker.get(stuck)
  hung.catch(() => {})
  t.equal(await broker.get(healthy), 'h-1', 'served while the other key hangs')
  clock += 45_000 // the healthy 1-minute token goes stale: its own refresh runs
  t.equal(await broker.get(healthy), 'h-1')
  await new Promise(resolve => setImmediate(resolve))
  clock += 1
  t.equal(await broker.get(healthy), 'h-2', 'refreshed on its own schedule')
  t.equal(stuckCalls, 1, 'the stuck key still has its one fetch in flight')
})
