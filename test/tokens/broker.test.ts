import t from 'tap'
import { pino } from 'pino'
import { TokenBroker, type TokenSpec } from '../../src/tokens/broker.js'
import type { MintedToken } from '../../src/tokens/grants.js'

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
  let clock = 1_000_000
  const m = fakeMint(lifetimeMs)
  const events: string[] = []
  const broker = new TokenBroker({
    logger,
    now: () => clock,
    random: () => 0.5,
    refreshJitterMs: 0,
    events: { lookup: r => events.push(r), fetched: (_w, r) => events.push(`fetch:${r}`) }
  })
  const spec: TokenSpec = { key: 'ws\0id\0query', workspace: 'ws', endpoint: 'fraud', mint: () => m.mint() }
  return { broker, spec, m, events, advance: (ms: number) => { clock += ms }, now: () => clock }
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
  advance(40 * 60_000 - 1)
  t.equal(await broker.get(spec), 'tok-1')
  t.equal(m.calls, 1, 'fresh just before the stale point')
  advance(2)
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
  advance(3_600_000 - 40_000)
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
  advance(1999)
  await broker.get(spec)
  t.equal(m.calls, 1, 'fresh for half of a 4 s lifetime')
  advance(2)
  await broker.get(spec)
  t.equal(m.calls, 2, 'stale after half')
})

t.test('a failed refresh keeps serving the valid token and backs off', async t => {
  const { broker, spec, m, advance } = setup(3_600_000)
  await broker.get(spec)
  advance(45 * 60_000)
  m.fail = Object.assign(new Error('down'), { reason: 'ECONNREFUSED' })
  t.equal(await broker.get(spec), 'tok-1')
  await new Promise(resolve => setImmediate(resolve))
  t.equal(m.calls, 2)
  for (let i = 0; i < 20; i++) t.equal(await broker.get(spec), 'tok-1')
  t.equal(m.calls, 2, 'no new attempt inside the backoff window')
  t.equal(broker.status(spec.key).lastError, 'ECONNREFUSED')
  advance(1000)
  await broker.get(spec)
  t.equal(m.calls, 3, 'retried after the backoff')
})

t.test('with nothing usable, callers fail fast during backoff with Retry-After', async t => {
  const { broker, spec, m, advance } = setup()
  m.fail = Object.assign(new Error('nope'), { reason: 'temporarily_unavailable', retryAfterMs: 7000 })
  const first = await broker.get(spec).catch(e => e)
  t.equal(first.code, 'TOKEN_UNAVAILABLE')
  t.equal(first.statusCode, 503)
  for (let i = 0; i < 10; i++) {
    const err = await broker.get(spec).catch(e => e)
    t.equal(err.code, 'TOKEN_UNAVAILABLE')
    t.equal(err.headers['retry-after'], '7', 'Retry-After honoured')
  }
  t.equal(m.calls, 1)
  advance(7000)
  m.fail = undefined
  t.equal(await broker.get(spec), 'tok-2')
})

t.test('credential errors back off slowly', async t => {
  const { broker, spec, m, advance } = setup()
  m.fail = Object.assign(new Error('bad'), { reason: 'invalid_client' })
  for (let s = 0; s < 120; s++) {
    await broker.get(spec).catch(() => {})
    advance(1000)
  }
  t.ok(m.calls <= 4, `attempts over 2 minutes stayed bounded (${m.calls})`)
})

t.test('invalidate drops only the token it names; a late mint does not overwrite a newer token', async t => {
  const { broker, spec, m } = setup()
  await broker.get(spec)
  broker.invalidate(spec, 'some-older-token')
  t.equal(await broker.get(spec), 'tok-1', 'a stale 401 does not evict the current token')
  broker.invalidate(spec, 'tok-1')
  t.equal(await broker.get(spec), 'tok-2')
  t.equal(m.calls, 2)

  m.auto = false
  broker.invalidate(spec)
  const late = broker.get(spec)
  await new Promise(resolve => setImmediate(resolve))
  broker.invalidate(spec)
  const fresh = broker.get(spec)
  await new Promise(resolve => setImmediate(resolve))
  m.pending[1]?.resolve({ accessToken: 'newer', expiresInMs: 3_600_000 })
  t.equal(await fresh, 'newer')
  m.pending[0]?.resolve({ accessToken: 'late', expiresInMs: 3_600_000 })
  t.equal(await late, 'late')
  t.equal(await broker.get(spec), 'newer', 'the late result was discarded')
})

t.test('a mint that exceeds the fetch timeout fails as TIMEOUT', async t => {
  const broker = new TokenBroker({ logger, fetchTimeoutMs: 50 })
  const spec: TokenSpec = {
    key: 'k',
    workspace: 'ws',
    endpoint: 'e',
    mint: (signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))))
  }
  const err = await broker.get(spec).catch(e => e)
  t.equal(err.code, 'TOKEN_UNAVAILABLE')
  t.equal(broker.status('k').lastError, 'TIMEOUT')
  broker.close()
})
