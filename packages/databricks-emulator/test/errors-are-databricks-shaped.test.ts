import t from 'tap'
import { get, start } from './helpers/client.js'

t.test('unknown paths get a Databricks ENDPOINT_NOT_FOUND', async t => {
  const emu = await start(t)
  const res = await get(emu, '/api/2.0/clusters/list?x=1')
  t.equal(res.status, 404)
  t.same(res.body, { error_code: 'ENDPOINT_NOT_FOUND', message: "No API found for 'GET /api/2.0/clusters/list'" })
})

t.test('undecodable URLs and malformed JSON are BAD_REQUEST, not fastify-shaped errors', async t => {
  const emu = await start(t)
  const badUrl = await emu.app.inject({ url: '/api/2.0/serving-endpoints/%E0%A4' })
  t.equal(badUrl.statusCode, 400)
  t.same(badUrl.json(), { error_code: 'BAD_REQUEST', message: "'/api/2.0/serving-endpoints/%E0%A4' is not a valid url component" })

  const badJson = await fetch(`${emu.url}/api/2.0/serving-endpoints/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' })
  t.equal(badJson.status, 400)
  t.same(await badJson.json(), { error_code: 'BAD_REQUEST', message: "Body is not valid JSON but content-type is set to 'application/json'" })
})
