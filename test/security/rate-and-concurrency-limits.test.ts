import t from 'tap'
import { request } from 'undici'
import { CALLER_KEY, OTHER_KEY, fakeClock, sleep, startStack, type Stack } from '../helpers/stack.js'

// Per-caller limits through the real gateway. The rate limiter runs on its own monotonic clock
// (createRoutegate does not inject one), so recovery is shown with short real sleeps.

const BODY = '{"inputs":[1]}'

interface Reply { status: number, headers: Record<string, string | string[] | undefined>, json: Record<string, unknown> }

async function post (s: Stack, key: string | undefined, endpoint = 'fraud-model', signal?: AbortSignal): Promise<Reply> {
  const res = await request(`${s.gatewayUrl}/serving-endpoints/${endpoint}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) },
    body: BODY,
    ...(signal === undefined ? {} : { signal })
  })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, json: JSON.parse(text) as Record<string, unknown> }
}

/** Polls `cond` until it holds; the bound is for a failure only, generous for a loaded machine. */
async function until (cond: () => boolean, ms = 30_000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!cond() && Date.now() < deadline) await sleep(10)
  return cond()
}

t.test('rate limit: after the burst, 429 REQUEST_LIMIT_EXCEEDED with Retry-After; other callers unaffected; recovers', async t => {
  // 1 per second, burst 3, on a fake clock: the bucket refills only when the test moves it, so
  // no assertion depends on how fast the requests go.
  const clock = fakeClock()
  const s = await startStack(t, { now: clock.now, config: (doc) => { (doc.callers[0] as Record<string, unknown>).limits = { requestsPerSecond: 1, burst: 3 } } })
  // Requests that never authenticate do not spend the caller's budget.
  for (let i = 0; i < 5; i++) t.equal((await post(s, 'rgk_unknown')).status, 401, 'unauthenticated')

  for (let i = 0; i < 3; i++) t.equal((await post(s, CALLER_KEY)).status, 200, `burst request ${i + 1}`)
  const upstreamBefore = s.emu.stats().invocationHeaders.length
  const over = await post(s, CALLER_KEY)
  t.equal(over.status, 429, 'over the burst')
  t.equal(over.json.error_code, 'REQUEST_LIMIT_EXCEEDED')
  t.match(over.json.message, /caller 'checkout' is over its requestsPerSecond limit/)
  t.equal(over.json.request_id, over.headers['x-request-id'])
  t.ok(Number(over.headers['retry-after']) >= 1, `Retry-After ${String(over.headers['retry-after'])} s`)
  t.match(over.headers['retry-after'], /^\d+$/, 'whole seconds')
  t.equal((await post(s, CALLER_KEY, 'feed-ads')).status, 429, 'the limit is per caller, on every endpoint')
  t.equal(s.emu.stats().invocationHeaders.length, upstreamBefore, 'refused requests sent nothing upstream')

  for (let i = 0; i < 4; i++) t.equal((await post(s, OTHER_KEY, 'feed-ads')).status, 200, `another caller is unaffected (${i + 1})`)

  clock.advance(999)
  t.equal((await post(s, CALLER_KEY)).status, 429, 'not back before a second')
  clock.advance(1)
  t.equal((await post(s, CALLER_KEY)).status, 200, 'one token back after a second')
  t.equal((await post(s, CALLER_KEY)).status, 429, 'and only one')
  const limited = s.logs.map(l => JSON.parse(l) as Record<string, unknown>).filter(l => l.status === 429)
  t.equal(limited.length, 4, 'each refusal has its access line')
  t.ok(limited.every(l => l.caller === 'checkout' && l.error_code === 'REQUEST_LIMIT_EXCEEDED'))
})

t.test('concurrency limit: a third request in flight gets 429; slots come back when callers disconnect', async t => {
  const s = await startStack(t, { config: (doc) => { (doc.callers[0] as Record<string, unknown>).limits = { maxConcurrent: 2 } } })
  s.emu.faults.dataPlane({ endpoint: 'fraud-model', hang: true })

  const clients = [new AbortController(), new AbortController()]
  const hanging = clients.map(ac => post(s, CALLER_KEY, 'fraud-model', ac.signal).then(() => 'answered', (err: Error) => err.name))
  t.ok(await until(() => s.emu.stats().invocationHeaders.length === 2), 'two requests are in flight upstream')

  const third = await post(s, CALLER_KEY, 'fraud-model')
  t.equal(third.status, 429, 'the third is refused')
  t.equal(third.json.error_code, 'REQUEST_LIMIT_EXCEEDED')
  t.match(third.json.message, /caller 'checkout' has 2 requests in progress already/)
  t.ok(Number(third.headers['retry-after']) >= 1, 'Retry-After')
  t.equal((await post(s, CALLER_KEY, 'feed-ads')).status, 429, 'per caller, whatever the endpoint')
  t.equal((await post(s, OTHER_KEY, 'feed-ads')).status, 200, 'another caller is unaffected')
  t.equal(s.emu.stats().invocationHeaders.length, 3, 'the refused ones sent nothing upstream')

  for (const ac of clients) ac.abort()
  t.same(await Promise.all(hanging), ['AbortError', 'AbortError'], 'the clients gave up')
  const gone = () => s.logs.map(l => JSON.parse(l) as Record<string, unknown>).filter(l => l.status === 499).length
  t.ok(await until(() => gone() === 2), 'the gateway saw both callers go (logged 499)')

  const after = await post(s, CALLER_KEY, 'feed-ads')
  t.equal(after.status, 200, 'a new request is admitted: the slots were released on disconnect')
  const pair = await Promise.all([post(s, CALLER_KEY, 'feed-ads'), post(s, CALLER_KEY, 'feed-ads')])
  t.same(pair.map(r => r.status), [200, 200], 'two at once fit again')
  t.same((await Promise.all([post(s, CALLER_KEY, 'feed-ads'), post(s, CALLER_KEY, 'feed-ads')])).map(r => r.status), [200, 200],
    'and finished requests give their slots back too')
})
