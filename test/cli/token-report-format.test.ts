// How `routegate token` prints a token report: scope, action and expiry; the token only when given.
import t from 'tap'
import { formatTokenReport } from '../../src/cli/commands/token.js'
import { parseScope, type TokenReport } from '../../src/tokens/scope.js'

const details = '[{"type":"workspace_permission","object_type":"serving-endpoints","object_path":"/serving-endpoints/abc123","actions":["query_inference_endpoint"]}]'
const report: TokenReport = {
  endpoint: 'fraud-model',
  workspace: 'prod',
  endpointId: 'abc123',
  action: 'query_inference_endpoint',
  discovered: false,
  scope: parseScope(details),
  authorizationDetails: details,
  state: 'valid',
  expiresAt: '2030-01-01T01:00:00.000Z'
}

t.test('scope, action and expiry (absolute and remaining); the token hidden', async t => {
  t.equal(formatTokenReport(report, Date.parse('2030-01-01T00:00:30.000Z')), [
    'endpoint:    fraud-model',
    'workspace:   prod',
    'endpoint id: abc123 (from the config)',
    'action:      query_inference_endpoint',
    'scope:       /serving-endpoints/abc123 query_inference_endpoint (serving-endpoints)',
    'state:       valid',
    'expires:     2030-01-01T01:00:00.000Z (in 59m30s)',
    'token:       hidden (--reveal prints it; the admin API never does)',
    ''
  ].join('\n'))
  t.match(formatTokenReport(report, 0, 'eyJabc.def.ghi'), /^token: +eyJabc\.def\.ghi$/m)
  t.match(formatTokenReport(report, Date.parse('2030-01-01T01:00:05.000Z')), /\(expired 5s ago\)/)
})

t.test('an endpoint not discovered yet', async t => {
  const text = formatTokenReport({ ...report, endpointId: undefined, discovered: true, scope: [], authorizationDetails: undefined, state: 'none', expiresAt: undefined, lastError: 'invalid_client' }, 0)
  t.match(text, /endpoint id: +-/)
  t.match(text, /scope: +\(not known yet: the endpoint is discovered on first use\)/)
  t.match(text, /state: +none \(last error: invalid_client\)/)
})

t.test('parseScope reads authorization_details, and nothing from what is not', async t => {
  t.same(parseScope(details), [{ type: 'workspace_permission', objectType: 'serving-endpoints', objectPath: '/serving-endpoints/abc123', actions: ['query_inference_endpoint'] }])
  t.same(parseScope(undefined), [])
  t.same(parseScope('not json'), [])
  t.same(parseScope('{"a":1}'), [])
  t.same(parseScope('[1,{"actions":[2,"x"]}]'), [{ type: undefined, objectType: undefined, objectPath: undefined, actions: ['x'] }])
})
