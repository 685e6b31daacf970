import t from 'tap'
import { dataPlaneToken, invoke, start } from './helpers/client.js'

t.test('messages get an OpenAI-style chat.completion', async t => {
  const emu = await start(t, { endpoints: [{ name: 'llm', servedModelName: 'llama-1' }] })
  const token = await dataPlaneToken(emu, 'llm')
  const res = await invoke(emu, 'llm', { messages: [{ role: 'user', content: 'hello there' }], max_tokens: 3 }, token)
  t.equal(res.status, 200)
  t.equal(res.headers.get('served-model-name'), 'llama-1')
  t.match(res.body, {
    id: /^chatcmpl-[0-9a-f]{24}$/,
    object: 'chat.completion',
    model: 'llama-1',
    choices: [{ index: 0, message: { role: 'assistant', content: 't0 t1 t2' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 }
  })
  t.type(res.body.created, 'number')

  const defaults = await invoke(emu, 'llm', { messages: [{ role: 'user' }] }, token)
  t.equal(defaults.body.usage.completion_tokens, 5, 'max_tokens defaults to 5')
  const capped = await invoke(emu, 'llm', { messages: [{ role: 'user', content: 'x' }], max_tokens: 5000 }, token)
  t.equal(capped.body.usage.completion_tokens, 1000, 'max_tokens is capped at 1000')
})

t.test('malformed chat requests are INVALID_PARAMETER_VALUE', async t => {
  const emu = await start(t)
  const token = await dataPlaneToken(emu, 'feed-ads')
  const cases: Array<[unknown, string]> = [
    [{ messages: [] }, 'messages must be a nonempty array of {role, content} objects.'],
    [{ messages: ['hi'] }, 'messages must be a nonempty array of {role, content} objects.'],
    [{ messages: [{ role: 'user', content: 'x' }], max_tokens: 0 }, 'max_tokens must be a positive integer.'],
    [{ messages: [{ role: 'user', content: 'x' }], max_tokens: 'many' }, 'max_tokens must be a positive integer.'],
    [{ messages: [{ role: 'user', content: 'x' }], stream: 'yes' }, 'stream must be a boolean.']
  ]
  for (const [body, message] of cases) {
    const res = await invoke(emu, 'feed-ads', body, token)
    t.equal(res.status, 400, message)
    t.same(res.body, { error_code: 'INVALID_PARAMETER_VALUE', message })
  }
})
