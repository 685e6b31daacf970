import t from 'tap'
import { InferenceLog, MAX_CLIENT_REQUEST_ID, clientRequestIdOf } from '../src/inference-log.js'
import { dataPlaneToken, invoke, start } from './helpers/client.js'

t.test('every authenticated JSON invocation gets a row naming its client_request_id', async t => {
  const emu = await start(t)
  const token = await dataPlaneToken(emu, 'fraud-model')
  const ok = await invoke(emu, 'fraud-model', { client_request_id: 'checkout:req-1', inputs: [[1, 2]] }, token)
  t.equal(ok.status, 200)
  const none = await invoke(emu, 'fraud-model', { inputs: [[3, 4]] }, token)
  t.equal(none.status, 200)
  const refused = await invoke(emu, 'fraud-model', { client_request_id: 'checkout:req-2', inputs: 'x' }, token)
  t.equal(refused.status, 400, 'a body the model refuses is still logged with its status')
  // Unauthenticated requests never reach the model: no row, as on Databricks.
  t.equal((await invoke(emu, 'fraud-model', { client_request_id: 'x:y', inputs: [[1, 2]] }, 'not-a-token')).status, 401)

  const res = await fetch(`${emu.url}/_emulator/inference-log?endpoint=fraud-model`)
  t.equal(res.status, 200)
  const rows = await res.json() as Array<Record<string, unknown>>
  t.same(rows.map(r => [r.client_request_id, r.status_code, r.requester]), [
    ['checkout:req-1', 200, null],
    [null, 200, null],
    ['checkout:req-2', 400, null]
  ], 'the data plane records no requester, as Databricks does for route-optimized endpoints')
  t.ok(rows.every(r => typeof r.databricks_request_id === 'string' && (r.databricks_request_id as string).length > 0))
  t.equal(rows[0]?.databricks_request_id, ok.headers.get('x-request-id'), 'the row joins the answer by its x-request-id')
  t.same(emu.inferenceLog('feed-ads'), [], 'filtered by endpoint')

  emu.reset()
  t.same(emu.inferenceLog(), [], 'reset clears the log')
})

t.test('the log is a bounded ring and ids are bounded', async t => {
  const log = new InferenceLog(2)
  for (const id of ['a', 'b', 'c']) {
    log.add({ databricks_request_id: id, client_request_id: id, endpoint: 'e', served_model_name: 'm', timestamp_ms: 0, status_code: 200, requester: null, request_bytes: 1 })
  }
  t.same(log.rows().map(r => r.client_request_id), ['b', 'c'])
  t.equal(clientRequestIdOf({ client_request_id: 'x'.repeat(MAX_CLIENT_REQUEST_ID) }), 'x'.repeat(MAX_CLIENT_REQUEST_ID))
  t.equal(clientRequestIdOf({ client_request_id: 'x'.repeat(MAX_CLIENT_REQUEST_ID + 1) }), null)
  t.equal(clientRequestIdOf({ client_request_id: 7 }), null)
  t.equal(clientRequestIdOf(JSON.parse('{"__proto__": {"client_request_id": "inherited"}}') as Record<string, unknown>), null)
})
