import t from 'tap'
import {
  BadRequest, CallerGone, CircuitOpen, ControlPlaneRefused, EndpointNotReady, TokenUnavailable, UpstreamConnectFailed,
  UpstreamInvalidResponse, UpstreamTimeout, UpstreamUnavailable
} from '../../src/errors.js'
import { fallbackOrder, fallsBack } from '../../src/proxy/fallback.js'

t.test('the order: listed, allowed for the caller, each once, never the primary', async t => {
  const allowed = new Set(['b', 'c', 'a'])
  t.same(fallbackOrder('a', ['b', 'a', 'x', 'c', 'b'], n => allowed.has(n)), ['b', 'c'])
  t.same(fallbackOrder('a', [], () => true), [])
})

t.test('what falls back: unreachable, no token, circuit open, 429 and 503', async t => {
  t.ok(fallsBack(new UpstreamConnectFailed('x')))
  t.ok(fallsBack(new CircuitOpen('x')))
  t.ok(fallsBack(new ControlPlaneRefused('x')))
  t.ok(fallsBack(new TokenUnavailable('x')))
  t.ok(fallsBack(new EndpointNotReady('x')))
  t.ok(fallsBack(429))
  t.ok(fallsBack(503))
})

t.test('what does not: the caller left, a reset after sending, a timeout, a bad request, other statuses', async t => {
  t.notOk(fallsBack(new CallerGone('x')))
  t.notOk(fallsBack(new UpstreamUnavailable('reset')))
  t.notOk(fallsBack(new UpstreamInvalidResponse('x')))
  t.notOk(fallsBack(new UpstreamTimeout('x')))
  t.notOk(fallsBack(new BadRequest('x')))
  for (const s of [200, 400, 404, 500, 502, 504]) t.notOk(fallsBack(s), String(s))
})
