import t from 'tap'
import { dataPlaneToken, invoke, start } from './helpers/client.js'

t.test('prompt gets a text_completion: one choice per prompt, usage counted over all of them', async t => {
  const emu = await start(t, { endpoints: [{ name: 'gen', servedModelName: 'gen-2' }] })
  const token = await dataPlaneToken(emu, 'gen')
  const one = await invoke(emu, 'gen', { prompt: 'say three words', max_tokens: 2 }, token)
  t.equal(one.status, 200)
  t.match(one.body, {
    id: /^cmpl-[0-9a-f]{24}$/,
    object: 'text_completion',
    model: 'gen-2',
    choices: [{ index: 0, text: 't0 t1', logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 }
  })
  const many = await invoke(emu, 'gen', { prompt: ['a b', 'c'], max_tokens: 3 }, token)
  t.same(many.body.choices.map((c: { index: number, text: string }) => [c.index, c.text]), [[0, 't0 t1 t2'], [1, 't0 t1 t2']])
  t.same(many.body.usage, { prompt_tokens: 3, completion_tokens: 6, total_tokens: 9 })
})

t.test('input gets embeddings: deterministic unit vectors of the endpoint\'s size, prompt and total usage', async t => {
  const emu = await start(t, { endpoints: [{ name: 'emb', embeddingDimensions: 5 }] })
  const token = await dataPlaneToken(emu, 'emb')
  const res = await invoke(emu, 'emb', { input: ['hello world', 'bye', 'hello world'] }, token)
  t.equal(res.status, 200)
  t.match(res.body, { object: 'list', model: 'emb-1', usage: { prompt_tokens: 5, total_tokens: 5 } })
  t.notOk('completion_tokens' in res.body.usage)
  const vectors: number[][] = res.body.data.map((d: { object: string, index: number, embedding: number[] }, i: number) => {
    t.equal(d.object, 'embedding')
    t.equal(d.index, i)
    return d.embedding
  })
  t.equal(vectors.length, 3)
  t.equal(vectors[0]!.length, 5)
  t.ok(Math.abs(Math.hypot(...vectors[0]!) - 1) < 1e-5, 'unit length')
  t.same(vectors[0], vectors[2], 'same text, same vector')
  t.notSame(vectors[0], vectors[1])
  const single = await invoke(emu, 'emb', { input: 'bye' }, token)
  t.same(single.body.data[0].embedding, vectors[1], 'a string input is one vector, stable across requests')
})

t.test('encoding_format base64 answers little-endian float32 as base64, as OpenAI does; an endpoint may ignore it', async t => {
  const emu = await start(t, { endpoints: [{ name: 'emb', embeddingDimensions: 6 }, { name: 'floats', embeddingDimensions: 6, honourEncodingFormat: false }] })
  const token = await dataPlaneToken(emu, 'emb')
  const floats = (await invoke(emu, 'emb', { input: ['a', 'b'], encoding_format: 'float' }, token)).body.data.map((d: { embedding: number[] }) => d.embedding)
  const coded = (await invoke(emu, 'emb', { input: ['a', 'b'], encoding_format: 'base64' }, token)).body.data.map((d: { embedding: string }) => d.embedding)
  t.equal(typeof coded[0], 'string')
  const decoded = coded.map((b64: string) => {
    const bytes = Buffer.from(b64, 'base64')
    t.equal(bytes.length, 24, 'six float32 values')
    return Array.from({ length: 6 }, (_, i) => bytes.readFloatLE(i * 4))
  })
  t.same(decoded, floats.map((v: number[]) => v.map(x => Math.fround(x))), 'the same vectors, float32-rounded')
  const odd = await invoke(emu, 'emb', { input: 'a', encoding_format: 'int8' }, token)
  t.equal(odd.status, 400)
  t.equal(odd.body.message, "encoding_format must be 'float' or 'base64'.")
  const other = await dataPlaneToken(emu, 'floats')
  const ignored = await invoke(emu, 'floats', { input: 'a', encoding_format: 'base64' }, other)
  t.same(ignored.body.data[0].embedding, floats[0], 'an endpoint that ignores encoding_format answers numbers')
})

t.test('an endpoint task accepts only its shape; without one the body picks', async t => {
  const emu = await start(t, {
    endpoints: [{ name: 'chat-only', task: 'llm/v1/chat' }, { name: 'emb-only', task: 'llm/v1/embeddings' }, { name: 'any' }]
  })
  const chatOnly = await dataPlaneToken(emu, 'chat-only')
  const refused = await invoke(emu, 'chat-only', { prompt: 'x' }, chatOnly)
  t.equal(refused.status, 400)
  t.same(refused.body, { error_code: 'INVALID_PARAMETER_VALUE', message: 'Endpoint \'chat-only\' serves llm/v1/chat: the request body needs \'messages\'.' })
  t.equal((await invoke(emu, 'chat-only', { inputs: [1] }, chatOnly)).status, 400, 'custom-model bodies too')
  t.equal((await invoke(emu, 'chat-only', { messages: [{ role: 'user', content: 'x' }] }, chatOnly)).body.object, 'chat.completion')
  const embOnly = await dataPlaneToken(emu, 'emb-only')
  t.same((await invoke(emu, 'emb-only', { messages: [{ role: 'user' }] }, embOnly)).body.message,
    'Endpoint \'emb-only\' serves llm/v1/embeddings: the request body needs \'input\'.')
  const any = await dataPlaneToken(emu, 'any')
  t.equal((await invoke(emu, 'any', { prompt: 'x' }, any)).body.object, 'text_completion')
  t.equal((await invoke(emu, 'any', { input: 'x' }, any)).body.object, 'list')
  t.same((await invoke(emu, 'any', { inputs: [[2, 3]] }, any)).body, { predictions: [5] })
})

t.test('defaultMaxTokens sets the answer length when the body has no max_tokens', async t => {
  const emu = await start(t, { defaultMaxTokens: 2, endpoints: [{ name: 'a' }, { name: 'b', defaultMaxTokens: 7 }] })
  const a = await invoke(emu, 'a', { prompt: 'x' }, await dataPlaneToken(emu, 'a'))
  t.equal(a.body.usage.completion_tokens, 2)
  const b = await invoke(emu, 'b', { messages: [{ role: 'user', content: [{ type: 'text', text: 'two words' }] }] }, await dataPlaneToken(emu, 'b'))
  t.same(b.body.usage, { prompt_tokens: 2, completion_tokens: 7, total_tokens: 9 }, 'content parts count too')
})

t.test('malformed completions and embeddings requests are INVALID_PARAMETER_VALUE', async t => {
  const emu = await start(t)
  const token = await dataPlaneToken(emu, 'feed-ads')
  const cases: Array<[unknown, string]> = [
    [{ prompt: [] }, 'prompt must be a string or a nonempty array of strings.'],
    [{ prompt: [1] }, 'prompt must be a string or a nonempty array of strings.'],
    [{ prompt: 'x', max_tokens: -1 }, 'max_tokens must be a positive integer.'],
    [{ prompt: 'x', stream_options: { include_usage: true } }, 'stream_options is only allowed when stream is true.'],
    [{ prompt: 'x', stream: true, stream_options: 'usage' }, 'stream_options must be an object.'],
    [{ input: [] }, 'input must be a string or a nonempty array of strings.'],
    [{ input: { text: 'x' } }, 'input must be a string or a nonempty array of strings.'],
    [{ input: 'x', stream: true }, 'Embeddings cannot be streamed.']
  ]
  for (const [body, message] of cases) {
    const res = await invoke(emu, 'feed-ads', body, token)
    t.equal(res.status, 400, message)
    t.same(res.body, { error_code: 'INVALID_PARAMETER_VALUE', message })
  }
})

t.test('endpoint options are validated eagerly', async t => {
  const { buildEmulator } = await import('../src/index.js')
  t.throws(() => buildEmulator({ endpoints: [{ name: 'x', task: 'llm/v1/rerank' as 'llm/v1/chat' }] }), { name: 'TypeError', message: /task must be one of/ })
  t.throws(() => buildEmulator({ endpoints: [{ name: 'x', errorForm: 'xml' as 'string' }] }), /errorForm must be/)
  t.throws(() => buildEmulator({ endpoints: [{ name: 'x', embeddingDimensions: 0 }] }), /embeddingDimensions/)
  t.throws(() => buildEmulator({ endpoints: [{ name: 'x', defaultMaxTokens: 1001 }] }), /defaultMaxTokens must be an integer in 1..1000/)
  t.throws(() => buildEmulator({ endpoints: [{ name: 'x', streamIntervalMs: -1 }] }), /streamIntervalMs must be a non-negative number/)
  t.throws(() => buildEmulator({ defaultMaxTokens: 0 }), /defaultMaxTokens/)
})
