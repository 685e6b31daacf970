// Pure: reading token usage off answers (JSON and event-stream tails), bounded.
import t from 'tap'
import { USAGE_JSON_CAP, UsageTap, usageFromJson, usageFromSse, usageOf } from '../../src/proxy/usage.js'

t.test('usageOf takes well-formed counts only', async t => {
  t.same(usageOf({ usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } }), { promptTokens: 3, completionTokens: 4 })
  t.same(usageOf({ usage: { prompt_tokens: 5, total_tokens: 5 } }), { promptTokens: 5, completionTokens: 0 }, 'embeddings have no completion tokens')
  for (const bad of [null, 1, {}, { usage: null }, { usage: 'x' }, { usage: { prompt_tokens: -1 } }, { usage: { prompt_tokens: 1.5 } },
    { usage: { prompt_tokens: '3' } }, { usage: { prompt_tokens: 2 ** 60 } }, { usage: { prompt_tokens: 1, completion_tokens: 'x' } }]) {
    t.equal(usageOf(bad), undefined, JSON.stringify(bad))
  }
})

t.test('usageFromJson and usageFromSse', async t => {
  t.same(usageFromJson('{"usage":{"prompt_tokens":1,"completion_tokens":2}}'), { promptTokens: 1, completionTokens: 2 })
  t.equal(usageFromJson('{"usage":'), undefined, 'truncated JSON')
  const stream = 'data: {"choices":[]}\n\ndata: {"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\n' +
    'data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":8}}\r\n\r\ndata: [DONE]\n\n'
  t.same(usageFromSse(stream), { promptTokens: 9, completionTokens: 8 }, 'the last usage wins, CRLF too')
  t.equal(usageFromSse('data: {"usage":{"prompt_tokens":1\n\n'), undefined, 'a cut event is no usage')
  t.equal(usageFromSse('event: usage\n"usage":{"prompt_tokens":1}\n'), undefined, 'only data lines')
})

t.test('UsageTap keeps an event stream\'s tail and gives up on oversized JSON', async t => {
  const sse = new UsageTap(true)
  const filler = Buffer.from(`data: ${'x'.repeat(1000)}\n\n`)
  for (let i = 0; i < 200; i++) sse.push(filler)
  sse.push(Buffer.from('data: {"usage":{"prompt_tokens":2,"completion_tokens":3}}\n\ndata: [DONE]\n\n'))
  t.same(sse.usage(), { promptTokens: 2, completionTokens: 3 }, 'found after 200 KB of stream')
  const json = new UsageTap(false)
  json.push(Buffer.from('{"pad":"'))
  json.push(Buffer.alloc(USAGE_JSON_CAP, 'a'))
  json.push(Buffer.from('","usage":{"prompt_tokens":1,"completion_tokens":1}}'))
  t.equal(json.usage(), undefined, 'a JSON answer over the cap is not parsed')
  t.equal(new UsageTap(false).usage(), undefined, 'an empty answer has none')
})
