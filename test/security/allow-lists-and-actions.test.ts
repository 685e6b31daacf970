import t from 'tap'
import { request } from 'undici'
import { sha256Hex } from '../../src/callers/keys.js'
import { CALLER_KEY, OTHER_KEY, startStack } from '../helpers/stack.js'

// Authorization through the real gateway: endpoint allow-lists (names and '*') and actions
// (callers[].actions against endpoints[].action). A refusal is 403 PERMISSION_DENIED and sends
// nothing upstream — not even a token request.

const OPS_KEY = 'rgk_test_ops_key_aabbccddeeff00112233'
const BODY = '{"inputs":[1]}'

t.test('allow-lists and actions decide; a refusal is 403 PERMISSION_DENIED with nothing sent upstream', async t => {
  const s = await startStack(t, {
    config: (doc) => {
      const fraud = doc.endpoints.find(e => e.name === 'fraud-model') as Record<string, unknown>
      // The same model behind an endpoint that needs the manage action.
      doc.endpoints.push({ ...fraud, name: 'fraud-admin', action: 'manage_inference_endpoint' })
      doc.callers.push({
        name: 'ops',
        keySha256: sha256Hex(OPS_KEY),
        endpoints: ['fraud-admin', 'feed-ads'],
        actions: ['query_inference_endpoint', 'manage_inference_endpoint']
      })
    }
  })
  const fraudId = s.config.endpoints.find(e => e.name === 'fraud-model')?.endpointId
  const post = async (key: string, endpoint: string) => {
    const res = await request(`${s.gatewayUrl}/serving-endpoints/${endpoint}/invocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: BODY
    })
    const text = await res.body.text()
    return { status: res.statusCode, headers: res.headers, json: JSON.parse(text) as Record<string, unknown> }
  }

  // checkout: ['*'] with the default action (query); reports: ['feed-ads']; ops: two names, both actions.
  const denied: Array<[string, string, string, RegExp]> = [
    ['reports', OTHER_KEY, 'fraud-model', /caller 'reports' may not use endpoint 'fraud-model'/],
    ['reports', OTHER_KEY, 'fraud-admin', /caller 'reports' may not use endpoint 'fraud-admin'/],
    ['ops', OPS_KEY, 'fraud-model', /caller 'ops' may not use endpoint 'fraud-model'/],
    ['checkout', CALLER_KEY, 'fraud-admin', /caller 'checkout' may not use action 'manage_inference_endpoint' on endpoint 'fraud-admin'/]
  ]
  for (const [caller, key, endpoint, message] of denied) {
    const r = await post(key, endpoint)
    t.equal(r.status, 403, `${caller} on ${endpoint}: 403`)
    t.equal(r.json.error_code, 'PERMISSION_DENIED', `${caller} on ${endpoint}: PERMISSION_DENIED`)
    t.match(r.json.message, message, `${caller} on ${endpoint}: the message names caller, endpoint (and action)`)
    t.equal(r.json.request_id, r.headers['x-request-id'])
    t.equal(r.headers['www-authenticate'], undefined, 'identified, just not allowed')
  }
  t.equal(s.emu.stats().invocationHeaders.length, 0, 'no refused request reached the upstream')
  t.equal(s.emu.stats().tokenRequests, 0, 'nor made the gateway ask for a token')
  t.same(s.logs.map(l => JSON.parse(l) as Record<string, unknown>).filter(l => l.msg === 'request completed').map(l => [l.caller, l.endpoint, l.status, l.error_code]),
    denied.map(([caller, , endpoint]) => [caller, endpoint, 403, 'PERMISSION_DENIED']), 'each logged as a 403 of that caller and endpoint')

  const allowed: Array<[string, string, string]> = [
    ['checkout', CALLER_KEY, 'fraud-model'],
    ['checkout', CALLER_KEY, 'feed-ads'],
    ['reports', OTHER_KEY, 'feed-ads'],
    ['ops', OPS_KEY, 'feed-ads'],
    ['ops', OPS_KEY, 'fraud-admin']
  ]
  for (const [caller, key, endpoint] of allowed) {
    const r = await post(key, endpoint)
    t.equal(r.status, 200, `${caller} on ${endpoint}: 200`)
    t.same(r.json, { predictions: [1] })
  }
  t.equal(s.emu.stats().invocationHeaders.length, allowed.length, 'each allowed request reached the upstream once')
  t.equal(s.emu.stats().mints.byScope[`${fraudId}:manage_inference_endpoint`], 1, 'the manage endpoint used a token scoped to the manage action')

  // Names are matched exactly: no prefix, case or unknown-name tricks.
  for (const endpoint of ['FEED-ADS', 'feed-ads-v2', 'feed']) {
    const r = await post(OTHER_KEY, endpoint)
    t.equal(r.status, 404, `reports on ${endpoint}: no such endpoint`)
    t.equal(r.json.error_code, 'ENDPOINT_NOT_FOUND')
  }
  t.equal(s.emu.stats().invocationHeaders.length, allowed.length, 'still nothing more upstream')
})
