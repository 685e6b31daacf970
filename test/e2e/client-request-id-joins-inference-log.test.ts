import t from 'tap'
import { request } from 'undici'
import type { InferenceRow } from '@routegate/databricks-emulator'
import { startStack, CALLER_KEY } from '../helpers/stack.js'

// endpoints[].clientRequestId: the endpoint's inference-log row names the caller and the
// gateway's request id, so a caller's request joins the endpoint's record (README, Attribution).
t.test('client_request_id joins a caller request to the endpoint\'s inference-log row', async t => {
  const s = await startStack(t, {
    emulator: { endpoints: [{ name: 'fraud-model' }, { name: 'feed-ads' }, { name: 'chat', task: 'llm/v1/chat' }] },
    config: doc => {
      for (const e of doc.endpoints) if (e.name !== 'feed-ads') e.clientRequestId = true
    }
  })
  const rowOf = (endpoint: string, requestId: string): InferenceRow | undefined =>
    s.emu.inferenceLog(endpoint).find(r => typeof r.client_request_id === 'string' && r.client_request_id.endsWith(`:${requestId}`))

  // The invocation route: the member goes first, the caller's bytes follow as sent.
  const sent = '{"dataframe_split":{"columns":["a","b"],"data":[[12345678901234567890,2.50]]}}'
  const a = await s.invoke('fraud-model', sent)
  t.equal(a.status, 200)
  const id = String(a.headers['x-request-id'])
  t.equal(s.emu.stats().lastInvocation?.body, `{"client_request_id":"checkout:${id}",${sent.slice(1)}`, 'nothing re-serialized')
  t.equal(rowOf('fraud-model', id)?.client_request_id, `checkout:${id}`)

  // A body that carries its own id keeps it.
  const own = await s.invoke('fraud-model', { client_request_id: 'mine-1', dataframe_split: { columns: ['a'], data: [[1]] } })
  t.equal(own.status, 200)
  t.equal(s.emu.inferenceLog('fraud-model').at(-1)?.client_request_id, 'mine-1')

  // Not a JSON object: forwarded untouched (the endpoint judges it).
  for (const body of ['[1,2]', '{"a":', 'plain text']) {
    await s.invoke('fraud-model', body)
    t.equal(s.emu.stats().lastInvocation?.body, body, `untouched: ${body}`)
  }

  // An endpoint that did not opt in gets the body as sent.
  const b = await s.invoke('feed-ads', { dataframe_records: [{ x: 5 }] })
  t.equal(b.status, 200)
  t.equal(s.emu.inferenceLog('feed-ads').at(-1)?.client_request_id, null)

  // The OpenAI route: `model` is cut, the id put in, the answer unchanged.
  const chat = await request(`${s.gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 })
  })
  t.equal(chat.statusCode, 200)
  await chat.body.json()
  const chatId = String(chat.headers['x-request-id'])
  t.equal(rowOf('chat', chatId)?.client_request_id, `checkout:${chatId}`)
  t.notOk(s.emu.stats().lastInvocation?.body.includes('"model"'), 'model is not forwarded')
})
