// The official `openai` npm SDK against the gateway, as a user would point it: baseURL at
// <gateway>/serving-endpoints (or /v1), apiKey the caller key, model the endpoint name.
import t from 'tap'
import OpenAI from 'openai'
import { request } from 'undici'
import { startStack, CALLER_KEY, OTHER_KEY } from '../helpers/stack.js'
import { waitFor } from '../helpers/wait.js'

function client (baseURL: string, apiKey = CALLER_KEY): OpenAI {
  // No retries: each test counts what reached the emulator.
  return new OpenAI({ apiKey, baseURL, maxRetries: 0, timeout: 10_000 })
}

t.test('a chat completion through /serving-endpoints, routed by model, model removed upstream', async t => {
  const s = await startStack(t)
  const ai = client(`${s.gatewayUrl}/serving-endpoints`)
  const done = await ai.chat.completions.create({ model: 'fraud-model', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 3 })
  t.equal(done.object, 'chat.completion')
  t.equal(done.choices[0]?.message.content, 't0 t1 t2')
  t.equal(done.usage?.prompt_tokens, 2)
  const upstream = JSON.parse(s.emu.stats().lastInvocation?.body ?? '{}')
  t.notOk('model' in upstream, 'the model field is not forwarded')
  t.same(upstream.messages, [{ role: 'user', content: 'hello there' }], 'the rest of the body is')
  t.equal(s.emu.stats().lastInvocation?.endpoint, 'fraud-model')
})

t.test('the same under /v1, and models.list() shows each caller its own endpoints', async t => {
  const s = await startStack(t)
  const done = await client(`${s.gatewayUrl}/v1`).chat.completions.create({ model: 'feed-ads', messages: [{ role: 'user', content: 'x' }], max_tokens: 1 })
  t.equal(done.choices[0]?.message.content, 't0')
  const all = []
  for await (const m of client(`${s.gatewayUrl}/v1`).models.list()) all.push(m)
  t.same(all.map(m => m.id), ['fraud-model', 'feed-ads'])
  t.ok(all.every(m => m.object === 'model' && m.owned_by === 'routegate' && Number.isInteger(m.created)))
  const theirs = []
  for await (const m of client(`${s.gatewayUrl}/serving-endpoints`, OTHER_KEY).models.list()) theirs.push(m.id)
  t.same(theirs, ['feed-ads'], 'the other caller sees only the endpoint it may use')
  const anonymous = await request(`${s.gatewayUrl}/v1/models`)
  t.equal(anonymous.statusCode, 401, 'the list needs caller credentials')
  await anonymous.body.dump()
})

t.test('a streamed chat: chunks reach the client as the emulator sends them', async t => {
  const s = await startStack(t, { emulator: { streamIntervalMs: 80 } })
  const ai = client(`${s.gatewayUrl}/serving-endpoints`)
  const stream = await ai.chat.completions.create({ model: 'fraud-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 6, stream: true })
  const arrivals: number[] = []
  let text = ''
  for await (const chunk of stream) {
    // The emulator's clock: epoch ms with sub-ms precision, the same machine.
    arrivals.push(performance.timeOrigin + performance.now())
    text += chunk.choices[0]?.delta.content ?? ''
  }
  t.equal(text, 't0 t1 t2 t3 t4 t5')
  t.equal(arrivals.length, 6)
  const sent = (await s.emu.streamEnded()).chunkSentAt
  t.equal(sent.length, 6, 'the emulator sent six chunks')
  const first = arrivals[0] as number
  // Five 80 ms gaps: a buffering gateway would deliver the first chunk after the last was sent.
  t.ok(first >= (sent[0] as number), 'the first chunk arrived after the emulator sent it')
  t.ok(first < (sent.at(-1) as number) - 200, `the first chunk reached the client ${Math.round((sent.at(-1) as number) - first)} ms before the emulator sent its last`)
  t.ok(first - (sent[0] as number) < 150, `and ${Math.round(first - (sent[0] as number))} ms after the emulator sent it`)
})

t.test('embeddings and completions through the SDK', async t => {
  const s = await startStack(t, { emulator: { endpoints: [{ name: 'fraud-model' }, { name: 'feed-ads', task: 'llm/v1/completions' }, { name: 'embedder', task: 'llm/v1/embeddings' }] } })
  const ai = client(`${s.gatewayUrl}/v1`)
  const e = await ai.embeddings.create({ model: 'embedder', input: ['a b', 'c'] })
  t.equal(e.data.length, 2)
  t.ok(e.data.every(d => Array.isArray(d.embedding) && d.embedding.length === 8), 'the SDK decodes the emulator\'s base64 into 8 dimensions')
  t.type(e.usage.prompt_tokens, 'number')
  const upstream = JSON.parse(s.emu.stats().lastInvocation?.body ?? '{}')
  t.same(upstream, { input: ['a b', 'c'], encoding_format: 'base64' }, 'the endpoint got the body without model (the SDK asks for base64 and decodes it)')
  const c = await ai.completions.create({ model: 'feed-ads', prompt: 'once upon', max_tokens: 2 })
  t.equal(c.object, 'text_completion')
  t.type(c.choices[0]?.text, 'string')
})

t.test('gateway errors reach OpenAI SDK users with the gateway\'s message', async t => {
  const s = await startStack(t)
  const denied = await client(`${s.gatewayUrl}/serving-endpoints`, OTHER_KEY).chat.completions
    .create({ model: 'fraud-model', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)
  t.ok(denied instanceof OpenAI.PermissionDeniedError, 'a 403 is the SDK\'s PermissionDeniedError')
  t.match((denied as Error).message, /caller 'reports' may not use endpoint 'fraud-model'/)
  t.equal((denied as InstanceType<typeof OpenAI.APIError>).code, 'PERMISSION_DENIED')
  t.equal((denied as InstanceType<typeof OpenAI.APIError>).type, 'permission_error')
  const unknown = await client(`${s.gatewayUrl}/v1`).embeddings.create({ model: 'no-such-model', input: 'x' }).catch((e: unknown) => e)
  t.ok(unknown instanceof OpenAI.NotFoundError)
  t.match((unknown as Error).message, /no endpoint named 'no-such-model'/)
  const badKey = await client(`${s.gatewayUrl}/v1`, 'not-a-key').chat.completions.create({ model: 'fraud-model', messages: [] }).catch((e: unknown) => e)
  t.ok(badKey instanceof OpenAI.AuthenticationError)
  t.match((badKey as Error).message, /caller/)
  t.same(s.emu.stats().invocations, {}, 'nothing reached the endpoint')
})

t.test('an aborted stream frees its pool connection and the emulator sees the cancellation', async t => {
  const s = await startStack(t, { emulator: { streamIntervalMs: 100 } })
  const ai = client(`${s.gatewayUrl}/serving-endpoints`)
  const stream = await ai.chat.completions.create({ model: 'fraud-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 50, stream: true })
  const poolKey = s.rg.registry.peek('fraud-model')?.poolKey ?? ''
  let n = 0
  for await (const chunk of stream) {
    t.type(chunk.id, 'string')
    if (++n === 2) {
      t.equal(s.rg.pools.stats(poolKey)?.running, 1, 'the upstream stream holds a connection')
      stream.controller.abort()
      break
    }
  }
  await waitFor(() => (s.rg.pools.stats(poolKey)?.running ?? 0) === 0, { intervalMs: 20 })
  const stats = s.rg.pools.stats(poolKey)
  t.equal(stats?.running, 0, 'no upstream request left running')
  t.equal(stats?.pending, 0)
  const record = await s.emu.streamEnded()
  t.equal(record.state, 'cancelled', 'the emulator saw the client leave')
  t.ok(record.chunkSentAt.length < 50, `after ${record.chunkSentAt.length} of 50 chunks`)
  const metrics = await (await request(`${s.adminUrl}/metrics`)).body.text()
  t.match(metrics, /routegate_aborted_responses_total\{endpoint="fraud-model",cause="client"\} 1/)
  t.match(metrics, /routegate_caller_requests_total\{caller="checkout",code="499"\} 1/)
})
