// The embeddings encoding helpers: which requests ask for base64, and an answer of numbers
// re-encoded as base64 of little-endian float32 (what OpenAI's SDKs decode).
import t from 'tap'
import { asksBase64Embeddings, base64Embeddings, float32Base64 } from '../../src/proxy/embeddings.js'

const asks = (body: string): boolean => asksBase64Embeddings(Buffer.from(body))

t.test('a top-level encoding_format "base64" asks for base64; anything else does not', async t => {
  t.ok(asks('{"input":"x","encoding_format":"base64"}'))
  t.ok(asks('{ "encoding_format" :\n "base64" , "input": ["a"] }'))
  t.ok(asks('{"model":"m","input":["a","b"],"encoding_format":"base64"}'))
  t.ok(asks('{"encoding\\u005fformat":"base\\u0036\\u0034"}'), 'escaped spellings mean the same')
  t.notOk(asks('{"input":"x"}'), 'absent: floats')
  t.notOk(asks('{"input":"x","encoding_format":"float"}'))
  t.notOk(asks('{"input":"x","encoding_format":null}'))
  t.notOk(asks('{"input":"base64"}'), 'the word elsewhere')
  t.notOk(asks('{"input":"\\"encoding_format\\":\\"base64\\""}'), 'inside a string')
  t.notOk(asks('{"input":"x","extra":{"encoding_format":"base64"}}'), 'a nested member')
  t.notOk(asks('[{"encoding_format":"base64"}]'), 'not an object')
  t.notOk(asks('["encoding_format","base64"]'))
  t.notOk(asks('{"encoding_format":"base64","encoding_format":"float"}'), 'the last one wins, as in JSON.parse')
  t.ok(asks('{"encoding_format":"float","encoding_format":"base64"}'))
  t.notOk(asks('{"input":"x\\\\","encoding_format":"float","z":"base64"}'), 'an escaped backslash ends its string')
  t.notOk(asks('{"encoding_format":"base64'), 'cut short')
  t.notOk(asks('{"encoding_format"'))
  t.notOk(asks(''))
})

t.test('float32Base64 is little-endian float32, as OpenAI encodes', async t => {
  t.equal(float32Base64([1, -2]), Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]).toString('base64'))
  t.equal(float32Base64([]), '')
})

t.test('an answer of numbers is re-encoded; strings are kept; odd answers are left alone', async t => {
  const answer = { object: 'list', model: 'm', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }, { object: 'embedding', index: 1, embedding: 'AAAAAA==' }], usage: { prompt_tokens: 2, total_tokens: 2 } }
  const out = base64Embeddings(Buffer.from(JSON.stringify(answer)))
  t.ok(out !== undefined)
  const parsed = JSON.parse(String(out))
  t.same(parsed, { ...answer, data: [{ object: 'embedding', index: 0, embedding: float32Base64([0.1, 0.2]) }, answer.data[1]] })
  const bytes = Buffer.from(parsed.data[0].embedding, 'base64')
  t.same([bytes.readFloatLE(0), bytes.readFloatLE(4)], [Math.fround(0.1), Math.fround(0.2)])
  t.equal(base64Embeddings(Buffer.from('{"data":[{"embedding":"AAAAAA=="}]}')), undefined, 'already base64: unchanged')
  t.equal(base64Embeddings(Buffer.from('not json')), undefined)
  t.equal(base64Embeddings(Buffer.from('{"predictions":[1]}')), undefined, 'no data array')
  t.equal(base64Embeddings(Buffer.from('{"data":[{"embedding":[1,"x"]}]}')), undefined, 'not numbers')
  t.equal(base64Embeddings(Buffer.from('{"data":[{"embedding":[1]},{"embedding":null}]}')), undefined, 'one odd entry leaves all alone')
  t.equal(base64Embeddings(Buffer.from('{"data":[null]}')), undefined)
  t.equal(base64Embeddings(Buffer.from('{"data":[]}')), undefined)
})

t.test('asksBase64Embeddings: many short keys before an escaped name', async t => {
  const keys = '"a":1,'.repeat(50_000)
  t.equal(asksBase64Embeddings(Buffer.from(`{${keys}"\\u0065ncoding_format":"base64"}`)), true)
  t.equal(asksBase64Embeddings(Buffer.from(`{${keys}"\\u0065ncoding_forma":"base64"}`)), false)
  t.equal(asksBase64Embeddings(Buffer.from(`{"x\\"":1,${keys}"encoding_format":"float"}`)), false)
})
