// Pure: the OpenAI-compatible surface's paths, body checks and model split.
import t from 'tap'
import type { IncomingMessage } from 'node:http'
import { checkJsonBody, modelList, openAiRoute, splitModel, withoutMember } from '../../src/server/openai.js'
import { errorBody, errorShapeFor, openAiErrorType } from '../../src/proxy/error-response.js'

t.test('openAiRoute knows the six body routes and two model lists, query strings ignored', async t => {
  const table: Array<[string | undefined, string | undefined]> = [
    ['/v1/chat/completions', 'chat/completions'], ['/serving-endpoints/chat/completions?x=1', 'chat/completions'],
    ['/v1/completions', 'completions'], ['/serving-endpoints/embeddings', 'embeddings'], ['/v1/models', 'models'],
    ['/serving-endpoints/models', 'models'], ['/v1/chat/completions/', undefined], ['/V1/models', undefined],
    ['/v1/responses', undefined], ['/serving-endpoints/x/invocations', undefined], [undefined, undefined], ['/v1//models', undefined]
  ]
  for (const [url, route] of table) t.equal(openAiRoute(url), route, String(url))
})

t.test('checkJsonBody: JSON types only, no content coding', async t => {
  const req = (headers: Record<string, string>): IncomingMessage => ({ headers } as unknown as IncomingMessage)
  for (const ok of ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/vnd.api+json']) {
    t.doesNotThrow(() => { checkJsonBody(req({ 'content-type': ok })) }, ok)
  }
  t.doesNotThrow(() => { checkJsonBody(req({ 'content-type': 'application/json', 'content-encoding': 'identity' })) })
  for (const bad of ['text/plain', 'application/jsonx', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
    t.throws(() => { checkJsonBody(req({ 'content-type': bad })) }, { code: 'UNSUPPORTED_MEDIA_TYPE' }, bad)
  }
  t.throws(() => { checkJsonBody(req({})) }, { code: 'UNSUPPORTED_MEDIA_TYPE' })
  t.throws(() => { checkJsonBody(req({ 'content-type': 'application/json', 'content-encoding': 'gzip' })) }, { code: 'UNSUPPORTED_MEDIA_TYPE' })
})

t.test('splitModel: the model out, the rest of the value forwarded', async t => {
  const r = splitModel(Buffer.from('{"model":"m-1","messages":[{"role":"user","content":"é"}],"n":1}'))
  t.equal(r.model, 'm-1')
  t.same(JSON.parse(r.body.toString()), { messages: [{ role: 'user', content: 'é' }], n: 1 })
  t.equal(r.body.toString(), '{"messages":[{"role":"user","content":"é"}],"n":1}', 'key order kept')
  const proto = splitModel(Buffer.from('{"model":"m","__proto__":{"x":1}}'))
  t.equal(proto.body.toString(), '{"__proto__":{"x":1}}', 'an own __proto__ key is data, kept as data')
  const exact = splitModel(Buffer.from('{"id": 12345678901234567890, "2": "b", "1": "a", "x": 1e400, "y": 1.50, "model": "m"}'))
  t.equal(exact.body.toString(), '{"id": 12345678901234567890,"2": "b","1": "a","x": 1e400,"y": 1.50}', 'big integers, key order and number spellings pass as sent')
  for (const bad of ['', 'nul', '[]', '"m"', '1', 'null', '{}', '{"model":1}', '{"model":""}', '{"model":null}', '{"model":["m"]}']) {
    t.throws(() => splitModel(Buffer.from(bad)), { code: 'BAD_REQUEST' }, bad)
  }
})

t.test('modelList and the error shapes', async t => {
  t.same(modelList(['a', 'b'], 1_700_000_000_999), { object: 'list', data: [{ id: 'a', object: 'model', created: 1_700_000_000, owned_by: 'routegate' }, { id: 'b', object: 'model', created: 1_700_000_000, owned_by: 'routegate' }] })
  t.same([401, 403, 404, 429, 400, 413, 415, 500, 502, 503, 504].map(openAiErrorType), [
    'authentication_error', 'permission_error', 'not_found_error', 'rate_limit_error', 'invalid_request_error', 'invalid_request_error',
    'invalid_request_error', 'api_error', 'api_error', 'api_error', 'api_error'])
  t.equal(errorShapeFor('/serving-endpoints/a/invocations'), 'databricks')
  t.equal(errorShapeFor('/serving-endpoints/a%2Fb/invocations?x'), 'databricks')
  t.equal(errorShapeFor('/v1/chat/completions'), 'both')
  t.equal(errorShapeFor('/serving-endpoints/a/invocationsx'), 'both')
  t.equal(errorShapeFor(undefined), 'both')
  t.same(errorBody(403, 'PERMISSION_DENIED', 'no', 'r1'), { error_code: 'PERMISSION_DENIED', message: 'no', request_id: 'r1', error: { message: 'no', type: 'permission_error', code: 'PERMISSION_DENIED' } })
  t.same(errorBody(404, 'ENDPOINT_NOT_FOUND', 'no', 'r1', 'databricks'), { error_code: 'ENDPOINT_NOT_FOUND', message: 'no', request_id: 'r1' })
})

t.test('withoutMember removes top-level members only, byte for byte', async t => {
  const cases: Array<[string, string]> = [
    ['{"model":"m"}', '{}'],
    [' { "model" : "m" } ', ' {} '],
    ['{"a":1,"model":"m"}', '{"a":1}'],
    ['{"model":"m","a":1}', '{"a":1}'],
    ['{"a":{"model":"keep"},"model":"m","b":[{"model":1}]}', '{"a":{"model":"keep"},"b":[{"model":1}]}'],
    ['{"s":"a \\"model\\": x, }","model":"m"}', '{"s":"a \\"model\\": x, }"}'],
    ['{"model":"a","t":true,"model":"b","n":null}', '{"t":true,"n":null}'],
    ['{"mo\\u0064el":"m","z":"é😀"}', '{"z":"é😀"}'],
    ['{"a":[1,[2,{"b":"}"}]],"model":"m"}', '{"a":[1,[2,{"b":"}"}]]}'],
    ['{"a":-1.5e+3,"model":"m"}\n', '{"a":-1.5e+3}\n']
  ]
  for (const [input, want] of cases) {
    const out = withoutMember(Buffer.from(input), 'model').toString()
    t.equal(out, want, input)
    t.same(JSON.parse(out), Object.fromEntries(Object.entries(JSON.parse(input)).filter(([k]) => k !== 'model')), `${input}: the same value less model`)
  }
  const untouched = Buffer.from('{"a":1}')
  t.equal(withoutMember(untouched, 'model'), untouched, 'nothing to remove: the same buffer')
})
