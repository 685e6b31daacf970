import type { ServerResponse } from 'node:http'
import t from 'tap'
import { UpstreamUnavailable } from '../../src/errors.js'
import { codeLabel } from '../../src/metrics/index.js'
import { createForwardState } from '../../src/proxy/forwarder.js'
import { finalStatus, limitOf } from '../../src/server/record.js'

const res = (statusCode: number, writableFinished: boolean): ServerResponse => ({ statusCode, writableFinished } as ServerResponse)

t.test('the counted status: the caller\'s view, 499 for a caller that left, 502 for an upstream that broke off', async t => {
  t.equal(finalStatus({ clientError: undefined, forward: createForwardState(), res: res(200, true) }), 200)
  t.equal(finalStatus({ clientError: undefined, forward: createForwardState(), res: res(200, false) }), 499, 'never finished')
  const broken = createForwardState()
  broken.failure = new UpstreamUnavailable('reset')
  t.equal(finalStatus({ clientError: undefined, forward: broken, res: res(200, false) }), 502, 'not 499: the upstream failed')
  t.equal(finalStatus({ clientError: { status: 400, code: 'BAD_REQUEST' }, forward: broken, res: res(200, false) }), 400, 'the parser\'s verdict first')
})

t.test('the code label takes real statuses only', async t => {
  t.equal(codeLabel(200), '200')
  t.equal(codeLabel(499), '499')
  t.equal(codeLabel(599), '599')
  t.equal(codeLabel(999), 'other')
  t.equal(codeLabel(99), 'other')
  t.equal(codeLabel(NaN), 'other')
  t.equal(codeLabel(200.5), 'other')
})

t.test('the access line\'s limit: how the request was admitted, limited on a 429, absent without limits', async t => {
  t.equal(limitOf(undefined, undefined), undefined)
  t.equal(limitOf(undefined, 'ENDPOINT_NOT_FOUND'), undefined)
  t.equal(limitOf(undefined, 'REQUEST_LIMIT_EXCEEDED'), 'limited')
  t.equal(limitOf('allowed', undefined), 'allowed')
  t.equal(limitOf('shadow_limited', 'UPSTREAM_UNAVAILABLE'), 'shadow_limited', 'admitted under a shadow limit, then failed upstream')
  t.equal(limitOf('store_fallback', undefined), 'store_fallback')
})
