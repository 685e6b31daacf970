import t from 'tap'
import { startStack } from '../helpers/stack.js'

t.test('grant token_exchange: a workspace token is exchanged (jwt-bearer) for scoped data-plane tokens', async t => {
  const s = await startStack(t, {
    emulator: { dataPlaneTokenTtlSeconds: 600 },
    config: (doc) => { doc.workspaces[0]!.grant = 'token_exchange' }
  })
  for (let i = 0; i < 5; i++) {
    t.equal((await s.invoke('fraud-model', { inputs: [i] })).status, 200)
    t.equal((await s.invoke('feed-ads', { inputs: [i] })).status, 200)
  }
  const stats = s.emu.stats()
  t.equal(stats.mints.byGrant['jwt-bearer'], 2, 'one exchange per endpoint')
  t.equal(stats.mints.byGrant.client_credentials, 1, 'one workspace token, shared')
  t.equal(stats.mints.byScope.workspace, 1)
  t.same(stats.lastInvocation?.tokenScope, [`${s.emu.endpoints['feed-ads']!.id}:query_inference_endpoint`])
})

t.test('token exchange with discovery: the discovered authorization_details are exchanged verbatim', async t => {
  const s = await startStack(t, {
    config: (doc) => {
      doc.workspaces[0]!.grant = 'token_exchange'
      doc.endpoints = [{ name: 'fraud-model', workspace: 'emu' }, { name: 'feed-ads', workspace: 'emu' }]
    }
  })
  t.equal((await s.invoke('fraud-model', { inputs: [1] })).status, 200)
  t.equal(s.emu.stats().mints.byGrant['jwt-bearer'], 1)
  t.equal(s.emu.stats().controlPlaneRequests, 1)
})
