// What an OpenAI request reserves from its token budgets.
import t from 'tap'
import { maxTokensOf, reserveTokens } from '../../src/limits/reserve.js'

const b = (s: string): Buffer => Buffer.from(s)

t.test('maxTokensOf: the top-level max_completion_tokens, else max_tokens', async t => {
  t.equal(maxTokensOf(b('{"model":"m","max_tokens":500}')), 500)
  t.equal(maxTokensOf(b('{"max_tokens": 500 , "max_completion_tokens":200}')), 200)
  t.equal(maxTokensOf(b(' {\n"messages":[{"role":"user","content":"\\"max_tokens\\": 9"}],"max_tokens":7}')), 7, 'a nested or quoted one is not it')
  t.equal(maxTokensOf(b('{"extra":{"max_tokens":9},"n":1}')), undefined)
  t.equal(maxTokensOf(b('{"max_tokens":"500"}')), undefined, 'a string is not a count')
  t.equal(maxTokensOf(b('{"max_tokens":-1}')), undefined)
  t.equal(maxTokensOf(b('{"max_tokens":1.5}')), undefined)
  t.equal(maxTokensOf(b('{"max_tokens":1e30}')), undefined)
  t.equal(maxTokensOf(b('{"max_tokens":99999999999}')), 1e9, 'capped')
  t.equal(maxTokensOf(b('{"max_\\u0074okens":12}')), 12, 'an escaped name is the same name')
  t.equal(maxTokensOf(b('[1,2]')), undefined)
  t.equal(maxTokensOf(b('{"max_tokens":')), undefined, 'truncated')
  t.equal(maxTokensOf(b('{"a":"unterminated')), undefined)
  t.equal(maxTokensOf(b('')), undefined)
})

t.test('maxTokensOf: linear in the body, whatever its nesting', async t => {
  const deep = Buffer.from('{"a":' + '['.repeat(200_000) + ']'.repeat(200_000) + ',"max_tokens":3}')
  t.equal(maxTokensOf(deep), 3)
})

t.test('reserveTokens: completion (or the default) plus bytes ÷ 4; embeddings reserve no completion', async t => {
  const body = b('{"model":"m","max_tokens":500,"messages":[]}')
  t.equal(reserveTokens(body, 'chat/completions', 1024), 500 + Math.ceil(body.length / 4))
  const plain = b('{"model":"m","prompt":"hi"}')
  t.equal(reserveTokens(plain, 'completions', 1024), 1024 + Math.ceil(plain.length / 4))
  t.equal(reserveTokens(plain, 'embeddings', 1024), Math.ceil(plain.length / 4))
  t.equal(reserveTokens(plain, 'completions', 1024, () => 3), 3 + Math.ceil(plain.length / 4), 'the reader can be swapped')
})

t.test('maxTokensOf: many short keys, and the names spelled with escapes at the end', async t => {
  const keys = '"a":1,'.repeat(50_000)
  t.equal(maxTokensOf(Buffer.from(`{${keys}"max_tokens":7}`)), 7)
  t.equal(maxTokensOf(Buffer.from(`{${keys}"max\\u005ftokens":9}`)), 9, 'an escaped name is decoded')
  t.equal(maxTokensOf(Buffer.from(`{${keys}"max\\u005ftoken":9}`)), undefined, 'a near name is not it')
  t.equal(maxTokensOf(Buffer.from(`{"a\\n":1,${keys}"max_completion_tokens":3,"max_tokens":7}`)), 3)
})
