import t from 'tap'
import type { Test } from 'tap'
import { basic, details, start, tokenRequest } from './helpers/client.js'

const NOT_AUTHORIZED = { error: 'invalid_authorization_details', error_description: 'User is not authorized to the requested authorizations' }

async function setup (t: Test) {
  const emu = await start(t, {
    endpoints: [{ name: 'fraud-model' }, { name: 'feed-ads' }],
    principals: [
      { clientId: 'fraud-only', clientSecret: 's1', permissions: [{ endpoint: 'fraud-model', actions: ['query_inference_endpoint'] }] },
      { clientId: 'manager', clientSecret: 's2', permissions: [{ endpoint: '*', actions: ['manage_inference_endpoint'] }] }
    ]
  })
  const mint = (clientId: string, secret: string, authorizationDetails: string) =>
    tokenRequest(emu, { grant_type: 'client_credentials', scope: 'all-apis', authorization_details: authorizationDetails },
      { authorization: basic(clientId, secret) })
  return { emu, mint }
}

t.test('echoes the approved authorization_details and scopes the token', async t => {
  const { emu, mint } = await setup(t)
  const id = emu.endpoints['fraud-model']!.id
  const res = await mint('fraud-only', 's1', details(id))
  t.equal(res.status, 200)
  t.same(res.body.authorization_details, JSON.parse(details(id)))
  const payload = JSON.parse(Buffer.from(res.body.access_token.split('.')[1], 'base64url').toString())
  t.same(payload.authorization_details, JSON.parse(details(id)))
  t.equal(emu.mintsFor('fraud-model'), 1)
})

t.test('refuses an endpoint the principal holds no grant on', async t => {
  const { emu, mint } = await setup(t)
  const res = await mint('fraud-only', 's1', details(emu.endpoints['feed-ads']!.id))
  t.equal(res.status, 400)
  t.same(res.body, NOT_AUTHORIZED)
})

t.test('refuses manage when the principal may only query', async t => {
  const { emu, mint } = await setup(t)
  const res = await mint('fraud-only', 's1', details(emu.endpoints['fraud-model']!.id, ['manage_inference_endpoint']))
  t.same(res.body, NOT_AUTHORIZED)
})

t.test('manage implies query', async t => {
  const { emu, mint } = await setup(t)
  const res = await mint('manager', 's2', details(emu.endpoints['feed-ads']!.id, ['query_inference_endpoint', 'manage_inference_endpoint']))
  t.equal(res.status, 200)
  t.equal(emu.mintsFor('feed-ads'), 1)
  t.equal(emu.mintsFor('feed-ads', 'manage_inference_endpoint'), 1)
  t.equal(emu.mintsFor('fraud-model'), 0)
  t.equal(emu.mintsFor('no-such-endpoint'), 0)
})

t.test('the object_path takes the endpoint id: the name, or an unknown id, is refused', async t => {
  const { mint } = await setup(t)
  for (const path of ['fraud-model', '0123456789abcdef0123456789abcdef']) {
    const res = await mint('fraud-only', 's1', details(path))
    t.equal(res.status, 400, path)
    t.same(res.body, NOT_AUTHORIZED, path)
  }
})

t.test('malformed authorization_details are invalid_request', async t => {
  const { emu, mint } = await setup(t)
  const id = emu.endpoints['fraud-model']!.id
  const good = { type: 'workspace_permission', object_type: 'serving-endpoints', object_path: `/serving-endpoints/${id}`, actions: ['query_inference_endpoint'] }
  const cases: Array<[string, string, string]> = [
    ['not JSON', '[{', 'authorization_details must be a JSON array'],
    ['an object', JSON.stringify(good), 'authorization_details must be a nonempty JSON array'],
    ['empty array', '[]', 'authorization_details must be a nonempty JSON array'],
    ['entry not an object', '[1]', 'each authorization_details entry must be an object'],
    ['wrong type', JSON.stringify([{ ...good, type: 'account_permission' }]), 'unsupported authorization_details type "account_permission"'],
    ['wrong object_type', JSON.stringify([{ ...good, object_type: 'clusters' }]), 'unsupported object_type "clusters"'],
    ['bad object_path', JSON.stringify([{ ...good, object_path: `/endpoints/${id}` }]), 'object_path must be /serving-endpoints/<endpoint id>'],
    ['nested object_path', JSON.stringify([{ ...good, object_path: `/serving-endpoints/${id}/x` }]), 'object_path must be /serving-endpoints/<endpoint id>'],
    ['no actions', JSON.stringify([{ ...good, actions: [] }]), 'actions must be a nonempty subset of query_inference_endpoint, manage_inference_endpoint'],
    ['unknown action', JSON.stringify([{ ...good, actions: ['CAN_QUERY'] }]), 'actions must be a nonempty subset of query_inference_endpoint, manage_inference_endpoint']
  ]
  for (const [name, value, description] of cases) {
    const res = await mint('fraud-only', 's1', value)
    t.equal(res.status, 400, name)
    t.same(res.body, { error: 'invalid_request', error_description: description }, name)
  }
  t.equal(emu.stats().mints.total, 0)
})
