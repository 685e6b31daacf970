import t from 'tap'
import { JWT_BEARER, clock, controlPlaneToken, dataPlaneToken, details, start, tokenRequest } from './helpers/client.js'

const INVALID_ASSERTION = { error: 'invalid_grant', error_description: 'The assertion is not a valid, unexpired token issued by this workspace' }

t.test('unknown, expired, revoked and scoped assertions are invalid_grant', async t => {
  const c = clock()
  const emu = await start(t, { now: c.now, tokenTtlSeconds: 60 })
  const authorizationDetails = details(emu.endpoints['fraud-model']!.id)
  const exchange = (assertion: string) => tokenRequest(emu, { grant_type: JWT_BEARER, assertion, authorization_details: authorizationDetails })

  t.same((await exchange('eyJhbGciOiJub25lIn0.e30.x')).body, INVALID_ASSERTION, 'unknown')

  const scoped = await dataPlaneToken(emu, 'fraud-model')
  const res = await exchange(scoped)
  t.equal(res.status, 400)
  t.same(res.body, { error: 'invalid_grant', error_description: 'The assertion must be a workspace (all-apis) token, not a scoped one' }, 'scoped')

  const revoked = await controlPlaneToken(emu)
  emu.revoke()
  t.same((await exchange(revoked)).body, INVALID_ASSERTION, 'revoked')

  const expiring = await controlPlaneToken(emu)
  t.equal((await exchange(expiring)).status, 200, 'fresh assertion works')
  c.advance(60_000)
  t.same((await exchange(expiring)).body, INVALID_ASSERTION, 'expired')
})

t.test('missing assertion or authorization_details is invalid_request', async t => {
  const emu = await start(t)
  const noAssertion = await tokenRequest(emu, { grant_type: JWT_BEARER, authorization_details: details(emu.endpoints['fraud-model']!.id) })
  t.equal(noAssertion.status, 400)
  t.same(noAssertion.body, { error: 'invalid_request', error_description: 'Missing assertion' })

  const cp = await controlPlaneToken(emu)
  const noDetails = await tokenRequest(emu, { grant_type: JWT_BEARER, assertion: cp })
  t.equal(noDetails.status, 400)
  t.same(noDetails.body, { error: 'invalid_request', error_description: 'Missing authorization_details' })
})
