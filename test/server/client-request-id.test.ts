import t from 'tap'
import { clientRequestIdValue, withClientRequestId } from '../../src/server/client-request-id.js'

t.test('the member goes first and the caller\'s bytes follow unchanged', async t => {
  const cases: Array<[string, string]> = [
    ['{"a":1}', '{"client_request_id":"c:r","a":1}'],
    ['{}', '{"client_request_id":"c:r"}'],
    [' \n{ }', ' \n{"client_request_id":"c:r" }'],
    ['{"n":12345678901234567890,"z":1,"a":1.0e3}', '{"client_request_id":"c:r","n":12345678901234567890,"z":1,"a":1.0e3}']
  ]
  for (const [input, want] of cases) {
    const out = withClientRequestId(Buffer.from(input), 'c:r')
    t.equal(out.toString(), want, input)
    t.same(JSON.parse(out.toString()).client_request_id, 'c:r')
  }
})

t.test('values are JSON-escaped', async t => {
  const out = withClientRequestId(Buffer.from('{"a":1}'), clientRequestIdValue('we"ird', 'x\\y'))
  t.same(JSON.parse(out.toString()), { client_request_id: 'we"ird:x\\y', a: 1 })
})
