import t from 'tap'
import { dataPlaneToken, invoke, start } from './helpers/client.js'

const BODY = { inputs: [1] }

t.test('a data-plane fault answers its status, default Databricks body and Retry-After for `times` requests', async t => {
  const emu = await start(t)
  const token = await dataPlaneToken(emu, 'fraud-model')
  emu.faults.dataPlane({ status: 429, retryAfter: '1', times: 1 })
  const limited = await invoke(emu, 'fraud-model', BODY, token)
  t.equal(limited.status, 429)
  t.equal(limited.headers.get('retry-after'), '1')
  t.same(limited.body, { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'Injected fault' })
  t.equal((await invoke(emu, 'fraud-model', BODY, token)).status, 200)
  t.same(emu.stats().invocations['fraud-model'], { 429: 1, 200: 1 })
})

t.test('faults apply before authentication, and default bodies follow the status', async t => {
  const emu = await start(t)
  for (const [status, code] of [[503, 'TEMPORARILY_UNAVAILABLE'], [504, 'DEADLINE_EXCEEDED'], [500, 'INTERNAL_ERROR'], [502, 'INTERNAL_ERROR'], [400, 'BAD_REQUEST'], [418, 'BAD_REQUEST']] as const) {
    emu.faults.dataPlane({ status })
    const res = await invoke(emu, 'feed-ads', BODY, undefined)
    t.equal(res.status, status)
    t.same(res.body, { error_code: code, message: 'Injected fault' })
  }
})

t.test('a custom body is sent as JSON, or as text when it is a string', async t => {
  const emu = await start(t)
  const token = await dataPlaneToken(emu, 'feed-ads')
  emu.faults.dataPlane({ status: 400, body: { error_code: 'BAD_REQUEST', message: 'Encountered an unexpected error while evaluating the model.' } })
  const json = await invoke(emu, 'feed-ads', BODY, token)
  t.same(json.body, { error_code: 'BAD_REQUEST', message: 'Encountered an unexpected error while evaluating the model.' })
  emu.faults.dataPlane({ status: 502, body: '<html><title>502 Bad Gateway</title></html>' })
  const html = await invoke(emu, 'feed-ads', BODY, token)
  t.equal(html.status, 502)
  t.equal(html.text, '<html><title>502 Bad Gateway</title></html>')
  t.match(html.headers.get('content-type'), /^text\/plain/)
  emu.faults.dataPlane({ body: { oops: true } })
  const bodyOnly = await invoke(emu, 'feed-ads', BODY, token)
  t.equal(bodyOnly.status, 500, 'a body without a status is a 500')
  emu.faults.dataPlane({ retryAfter: '5' })
  t.equal((await invoke(emu, 'feed-ads', BODY, token)).status, 200, 'a fault with no effect serves normally')
})

t.test('an endpoint\'s own fault wins over the global one; other endpoints are untouched', async t => {
  const emu = await start(t)
  const fraud = await dataPlaneToken(emu, 'fraud-model')
  const ads = await dataPlaneToken(emu, 'feed-ads')
  emu.faults.dataPlane({ endpoint: 'fraud-model', status: 503 })
  t.equal((await invoke(emu, 'fraud-model', BODY, fraud)).status, 503)
  t.equal((await invoke(emu, 'feed-ads', BODY, ads)).status, 200)
  emu.faults.dataPlane({ status: 429 })
  t.equal((await invoke(emu, 'fraud-model', BODY, fraud)).status, 503)
  t.equal((await invoke(emu, 'feed-ads', BODY, ads)).status, 429)
  emu.faults.dataPlane({ endpoint: 'fraud-model', status: 504 })
  t.equal((await invoke(emu, 'fraud-model', BODY, fraud)).status, 504, 'a new fault for the same target replaces the old one')
  emu.reset()
  t.equal((await invoke(emu, 'fraud-model', BODY, fraud)).status, 200)
  t.same(emu.stats().invocations, { 'fraud-model': { 200: 1 } }, 'reset() also cleared the stats')
})
