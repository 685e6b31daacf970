// Each admission step on its own, with plain objects for requests: no sockets.
import type { IncomingMessage } from 'node:http'
import t from 'tap'
import type { AuthResult, Caller } from '../../src/callers/identity.js'
import type { EndpointConfig } from '../../src/config/load.js'
import { checkAllowed, checkLimits, checkLoad, checkProtocol, identified, identify, routeTo, takeSlot, usedTokens } from '../../src/server/admission.js'
import { createConcurrencyLimiter } from '../../src/limits/concurrency.js'
import { createGovernor } from '../../src/limits/governor.js'
import { createLocalLimiter } from '../../src/limits/local.js'
import { createForwardState } from '../../src/proxy/forwarder.js'

function req (raw: string[], version = '1.1'): IncomingMessage {
  const headers: Record<string, string> = {}
  for (let i = 0; i < raw.length; i += 2) headers[(raw[i] as string).toLowerCase()] ??= raw[i + 1] as string
  const [major, minor] = version.split('.').map(Number)
  return { rawHeaders: raw, headers, httpVersionMajor: major, httpVersionMinor: minor, socket: {} } as unknown as IncomingMessage
}

const caller = (over: Partial<Caller> = {}): Caller => ({ name: 'svc', endpoints: new Set(['a']), actions: new Set(['query_inference_endpoint']), ...over })
const endpoint = (over: Partial<EndpointConfig> = {}): EndpointConfig => ({ name: 'a', action: 'query_inference_endpoint', bodyLimitBytes: 10, ...over } as EndpointConfig)

function codeOf (fn: () => unknown): string | undefined {
  try {
    fn()
    return undefined
  } catch (err) {
    return (err as { code?: string }).code
  }
}

t.test('protocol: header count, exactly one sane Host, only chunked transfer coding', async t => {
  t.equal(codeOf(() => checkProtocol(req(['Host', 'gw']), 100)), undefined)
  t.equal(codeOf(() => checkProtocol(req(Array.from({ length: 12 }, (_, i) => [`X-${i}`, 'v']).flat()), 5)), 'HEADERS_TOO_LARGE')
  t.equal(codeOf(() => checkProtocol(req([]), 100)), 'BAD_REQUEST', 'HTTP/1.1 needs a Host')
  t.equal(codeOf(() => checkProtocol(req([], '1.0'), 100)), undefined, 'HTTP/1.0 may omit it')
  t.equal(codeOf(() => checkProtocol(req(['Host', 'a', 'host', 'b']), 100)), 'BAD_REQUEST', 'two Hosts')
  t.equal(codeOf(() => checkProtocol(req(['Host', 'a b/c@d']), 100)), 'BAD_REQUEST', 'a malformed Host')
  t.equal(codeOf(() => checkProtocol(req(['Host', '[::1]:8080']), 100)), undefined, 'an IPv6 literal')
  t.equal(codeOf(() => checkProtocol(req(['Host', 'gw', 'Transfer-Encoding', 'identity']), 100)), 'BAD_REQUEST')
  t.equal(codeOf(() => checkProtocol(req(['Host', 'gw', 'Transfer-Encoding', ' Chunked ']), 100)), undefined)
})

t.test('load: 503 with Retry-After only while overloaded', async t => {
  t.doesNotThrow(() => checkLoad(false))
  try {
    checkLoad(true)
    t.fail('should shed')
  } catch (err) {
    t.match(err, { code: 'SERVICE_UNAVAILABLE', statusCode: 503, headers: { 'retry-after': '1' } })
  }
})

t.test('identity: 401 with WWW-Authenticate, 503 when the credentials cannot be checked now', async t => {
  const ok: AuthResult = { ok: true, caller: caller(), via: 'key', keyIndex: 0 }
  t.equal(identified(ok), ok)
  t.throws(() => identified({ ok: false, reason: 'unknown caller key' }), { code: 'UNAUTHENTICATED', statusCode: 401, headers: { 'www-authenticate': 'Bearer' }, message: 'unknown caller key' })
  t.throws(() => identified({ ok: false, reason: 'JWKS down', unavailable: true }), { code: 'SERVICE_UNAVAILABLE', statusCode: 503, headers: { 'retry-after': '5' } })
  const seen: unknown[] = []
  const r = await identify(async (a) => { seen.push(a.headers.authorization); return ok }, req(['Authorization', 'Bearer k']))
  t.equal(r, ok)
  t.same(seen, ['Bearer k'], 'the request\'s headers are what is checked')
})

t.test('limits: unlimited callers pass; a bucket refuses with Retry-After in whole seconds', async t => {
  let now = 0
  const governor = createGovernor({ local: createLocalLimiter(() => now), count: () => {} })
  for (let i = 0; i < 10; i++) t.same(await checkLimits(governor, { caller: caller() }), { as: 'allowed', reservation: undefined })
  const limited = caller({ limits: { requestsPerSecond: 1, burst: 2 } })
  await checkLimits(governor, { caller: limited })
  await checkLimits(governor, { caller: limited })
  await t.rejects(checkLimits(governor, { caller: limited }), { code: 'REQUEST_LIMIT_EXCEEDED', headers: { 'retry-after': '1', 'x-ratelimit-limit-requests': '60' } })
  now += 1000
  await t.resolves(checkLimits(governor, { caller: limited }), 'refilled')
})

t.test('used tokens: the usage when reported, a refund when nothing (or an error) reached the caller, else kept', async t => {
  const f = createForwardState()
  t.equal(usedTokens(f, 502), 0, 'no upstream answer: refunded')
  f.headersAt = 5
  t.equal(usedTokens(f, 200), undefined, 'an answer without usage keeps the reservation')
  t.equal(usedTokens(f, 400), 0, 'an error answer generated nothing: refunded')
  t.equal(usedTokens(f, 503), 0)
  f.failure = new Error('x') as never
  t.equal(usedTokens(f, 200), 0, 'failed before a byte reached the caller: refunded')
  f.bytesOut = 10
  t.equal(usedTokens(f, 200), undefined, 'failed after bytes reached the caller: kept')
  f.usage = { promptTokens: 7, completionTokens: 5 }
  t.equal(usedTokens(f, 200), 12)
})

t.test('route: the configured endpoint, or 404 that echoes only plain names', async t => {
  const ep = endpoint()
  t.equal(routeTo(ep, 'a'), ep)
  t.throws(() => routeTo(undefined, 'nope'), { code: 'ENDPOINT_NOT_FOUND', message: "no endpoint named 'nope'" })
  t.throws(() => routeTo(undefined, 'x\r\nSet-Cookie: a'), { code: 'ENDPOINT_NOT_FOUND', message: 'no such endpoint' })
})

t.test('allow-list and action: 403 naming caller and endpoint', async t => {
  t.doesNotThrow(() => checkAllowed(caller(), endpoint()))
  t.doesNotThrow(() => checkAllowed(caller({ endpoints: new Set(['*']) }), endpoint({ name: 'other' })))
  t.throws(() => checkAllowed(caller(), endpoint({ name: 'b' })), { code: 'PERMISSION_DENIED', message: "caller 'svc' may not use endpoint 'b'" })
  t.throws(() => checkAllowed(caller(), endpoint({ action: 'manage_inference_endpoint' })), { code: 'PERMISSION_DENIED' })
})

t.test('concurrency: a slot per request up to the limit, released once', async t => {
  const c = createConcurrencyLimiter()
  t.equal(takeSlot(c, caller()), undefined, 'no limit, no slot')
  const limited = caller({ limits: { maxConcurrent: 1 } })
  const release = takeSlot(c, limited)
  t.type(release, 'function')
  t.throws(() => takeSlot(c, limited), { code: 'REQUEST_LIMIT_EXCEEDED', headers: { 'retry-after': '1' } })
  release?.()
  release?.()
  t.equal(c.inFlight('svc'), 0)
  t.type(takeSlot(c, limited), 'function', 'free again')
})
