import t from 'tap'
import { dataPlaneToken, invoke, start } from './helpers/client.js'

const BODY = { inputs: [1] }

t.test('a fault answers either error form: string error_code, or numeric with X-Databricks-Reason-Phrase', async t => {
  const emu = await start(t)
  const token = await dataPlaneToken(emu, 'feed-ads')
  emu.faults.dataPlane({ status: 400, errorCode: 'BAD_REQUEST', message: 'Model input is invalid.', times: 1 })
  const str = await invoke(emu, 'feed-ads', BODY, token)
  t.equal(str.status, 400)
  t.same(str.body, { error_code: 'BAD_REQUEST', message: 'Model input is invalid.' })
  t.equal(str.headers.get('x-databricks-reason-phrase'), null, 'the string form has no reason phrase by default')

  emu.faults.dataPlane({ status: 400, errorForm: 'numeric', message: 'Model input is invalid.', times: 1 })
  const num = await invoke(emu, 'feed-ads', BODY, token)
  t.equal(num.status, 400)
  t.same(num.body, { error_code: 400, message: 'Model input is invalid.' })
  t.equal(num.headers.get('x-databricks-reason-phrase'), 'Model input is invalid.')

  emu.faults.dataPlane({ status: 429, errorForm: 'numeric', reasonPhrase: 'Too Many Requests', retryAfter: '2', times: 1 })
  const limited = await invoke(emu, 'feed-ads', BODY, token)
  t.same(limited.body, { error_code: 429, message: 'Injected fault' })
  t.equal(limited.headers.get('x-databricks-reason-phrase'), 'Too Many Requests')
  t.equal(limited.headers.get('retry-after'), '2')

  emu.faults.dataPlane({ status: 502, body: 'upstream', reasonPhrase: 'Bad Gateway', times: 1 })
  const custom = await invoke(emu, 'feed-ads', BODY, token)
  t.equal(custom.text, 'upstream')
  t.equal(custom.headers.get('x-databricks-reason-phrase'), 'Bad Gateway', 'a reason phrase goes with a custom body too')
  t.equal((await invoke(emu, 'feed-ads', BODY, token)).status, 200)
})

t.test('an endpoint\'s errorForm applies to its own errors and is the default for its faults', async t => {
  const emu = await start(t, { endpoints: [{ name: 'num', errorForm: 'numeric' }, { name: 'str' }] })
  const num = await invoke(emu, 'num', BODY, undefined)
  t.equal(num.status, 401)
  t.equal(num.body.error_code, 401)
  t.equal(num.headers.get('x-databricks-reason-phrase'), num.body.message)
  const bad = await invoke(emu, 'num', { nope: 1 }, await dataPlaneToken(emu, 'num'))
  t.same(bad.body.error_code, 400)
  emu.faults.dataPlane({ endpoint: 'num', status: 503 })
  t.same((await invoke(emu, 'num', BODY, undefined)).body, { error_code: 503, message: 'Injected fault' })
  emu.faults.dataPlane({ endpoint: 'num', status: 503, errorForm: 'string' })
  t.same((await invoke(emu, 'num', BODY, undefined)).body, { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'Injected fault' }, 'the fault\'s form wins')
  t.equal((await invoke(emu, 'str', BODY, undefined)).body.error_code, 'UNAUTHENTICATED')
})

t.test('error-form fault fields are validated', async t => {
  const emu = await start(t)
  t.throws(() => emu.faults.dataPlane({ status: 400, errorForm: 'xml' as 'string' }), /errorForm is invalid/)
  t.throws(() => emu.faults.dataPlane({ status: 400, reasonPhrase: 'bad\nheader' }), /reasonPhrase is invalid/)
  t.throws(() => emu.faults.dataPlane({ resetAfterChunks: -1 }), /resetAfterChunks is invalid/)
  t.throws(() => emu.faults.dataPlane({ errorCode: '' }), /errorCode is invalid/)
})
