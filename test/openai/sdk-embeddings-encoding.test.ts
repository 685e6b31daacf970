// Embeddings through the official `openai` npm SDK, which asks for base64 by default and decodes
// each embedding as little-endian float32: whether the endpoint answers base64 itself (passed on
// unchanged) or arrays of numbers (encoded by the gateway), the SDK gets the endpoint's vectors,
// float32-rounded, with their real dimension.
import t from 'tap'
import OpenAI from 'openai'
import { request } from 'undici'
import { float32Base64 } from '../../src/proxy/embeddings.js'
import { startStack, CALLER_KEY } from '../helpers/stack.js'

const DIMENSIONS = 8
const INPUT = ['a b', 'c']

for (const honourEncodingFormat of [true, false]) {
  const who = honourEncodingFormat ? 'an endpoint answering base64 (passed on)' : 'an endpoint answering numbers (encoded by the gateway)'
  t.test(`SDK default encoding, ${who}: the endpoint's floats, float32-rounded`, async t => {
    const s = await startStack(t, {
      emulator: { endpoints: [{ name: 'fraud-model', task: 'llm/v1/embeddings', embeddingDimensions: DIMENSIONS, honourEncodingFormat }, { name: 'feed-ads' }] }
    })
    const ai = new OpenAI({ apiKey: CALLER_KEY, baseURL: `${s.gatewayUrl}/v1`, maxRetries: 0, timeout: 10_000 })
    const floats = await ai.embeddings.create({ model: 'fraud-model', input: INPUT, encoding_format: 'float' })
    const vectors = floats.data.map(d => d.embedding)
    t.ok(vectors.every(v => v.length === DIMENSIONS && v.every(x => typeof x === 'number')), 'a float request gets the numbers unchanged')
    t.same(JSON.parse(s.emu.stats().lastInvocation?.body ?? '{}'), { input: INPUT, encoding_format: 'float' })

    const decoded = await ai.embeddings.create({ model: 'fraud-model', input: INPUT })
    t.same(JSON.parse(s.emu.stats().lastInvocation?.body ?? '{}'), { input: INPUT, encoding_format: 'base64' }, 'the SDK asked for base64')
    t.same(decoded.data.map(d => d.embedding.length), [DIMENSIONS, DIMENSIONS], `${DIMENSIONS} dimensions each`)
    t.same(decoded.data.map(d => Array.from(d.embedding)), vectors.map(v => v.map(x => Math.fround(x))), 'exactly the float32 values of the endpoint\'s vectors')
    t.same(decoded.usage, floats.usage)

    // On the wire: base64 of little-endian float32, whoever encoded it.
    const raw = await request(`${s.gatewayUrl}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fraud-model', input: INPUT, encoding_format: 'base64' })
    })
    t.equal(raw.statusCode, 200)
    const text = await raw.body.text()
    t.equal(raw.headers['content-length'], String(Buffer.byteLength(text)), 'the length of what is sent')
    t.same(JSON.parse(text).data.map((d: { embedding: string }) => d.embedding), vectors.map(v => float32Base64(v)))
  })
}

t.test('the invocation route never re-encodes: its bodies are the endpoint\'s own', async t => {
  const s = await startStack(t, {
    emulator: { endpoints: [{ name: 'fraud-model', task: 'llm/v1/embeddings', honourEncodingFormat: false }, { name: 'feed-ads' }] }
  })
  const res = await request(`${s.gatewayUrl}/serving-endpoints/fraud-model/invocations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ input: 'x', encoding_format: 'base64' })
  })
  t.equal(res.statusCode, 200)
  const body = await res.body.json() as { data: Array<{ embedding: unknown }> }
  t.ok(Array.isArray(body.data[0]?.embedding), 'numbers, as the endpoint answered')
})
