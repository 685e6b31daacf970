import t from 'tap'
import { apiErrorCodeFor, oauthErrorFor, oauthStatusFor, statusOf } from '../src/errors.js'

t.test('error handlers keep fastify statuses and treat anything else as a 500', async t => {
  t.equal(statusOf({ statusCode: 413 }), 413)
  t.equal(statusOf({ statusCode: 200 }), 500)
  t.equal(statusOf({}), 500)
})

t.test('status and code tables', async t => {
  t.equal(apiErrorCodeFor(429), 'REQUEST_LIMIT_EXCEEDED')
  t.equal(apiErrorCodeFor(409), 'BAD_REQUEST')
  t.equal(apiErrorCodeFor(501), 'INTERNAL_ERROR')
  t.equal(oauthStatusFor('invalid_client'), 401)
  t.equal(oauthStatusFor('slow_down'), 400)
  t.equal(oauthErrorFor(429), 'temporarily_unavailable')
  t.equal(oauthErrorFor(502), 'server_error')
})
