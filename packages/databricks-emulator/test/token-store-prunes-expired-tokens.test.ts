import t from 'tap'
import { TokenStore } from '../src/token-store.js'

t.test('expired tokens are swept while minting, so the store stays bounded', async t => {
  let now = 0
  const store = new TokenStore({ now: () => now })
  const principal = { clientId: 'c', clientSecret: 's', permissions: [] }
  const mint = (ttlSeconds: number) => store.mint({ principal, authorizationDetails: undefined, grant: 'client_credentials', ttlSeconds, issuer: 'http://x/oidc', workspaceId: '1' })

  const keeper = mint(3600)
  for (let i = 0; i < 200; i++) mint(1)
  t.equal(store.size, 201)
  now += 1000
  for (let i = 0; i < 55; i++) mint(1)
  t.equal(store.size, 56, 'the 256th mint swept the 200 expired tokens')
  t.equal(store.get(keeper.token), keeper, 'live tokens survive the sweep')
  now += 1000
  store.prune()
  t.equal(store.size, 1)
})
