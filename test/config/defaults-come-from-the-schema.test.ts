import t from 'tap'
import { parseConfig } from '../../src/config/load.js'
import { DEFAULT_ACTIONS, SERVER_DEFAULTS, TOKENS_DEFAULTS, jwksSource } from '../../src/config/schema.js'
import { toCaller } from '../../src/callers/caller.js'

const minimal = (): any => ({
  workspaces: [{ name: 'ws', host: 'https://adb-1.azuredatabricks.net', clientId: 'sp', clientSecret: 'x' }],
  endpoints: [{ name: 'e', workspace: 'ws', url: 'https://abc.serving.cloud.databricks.com/1/serving-endpoints/e/invocations' }],
  callers: [{ name: 'c', keySha256: 'a'.repeat(64), endpoints: ['*'] }]
})

t.test('the defaults code falls back to are the ones a config file gets', async t => {
  const c = parseConfig(minimal(), { env: {} })
  t.same(SERVER_DEFAULTS, c.server)
  t.same(TOKENS_DEFAULTS, c.tokens)
  t.same(DEFAULT_ACTIONS, c.callers[0]?.actions)
  t.equal(SERVER_DEFAULTS.maxConnections, 10_000)
  t.equal(SERVER_DEFAULTS.keepAliveTimeoutMs, 72_000)
  t.equal(TOKENS_DEFAULTS.fetchTimeoutMs, 10_000)
  t.equal(TOKENS_DEFAULTS.cacheSize, 10_000)
  t.equal(TOKENS_DEFAULTS.refreshJitterMs, 30_000)
  t.ok(Object.isFrozen(SERVER_DEFAULTS) && Object.isFrozen(TOKENS_DEFAULTS) && Object.isFrozen(DEFAULT_ACTIONS))
})

t.test('a caller built in code without actions gets the schema default', async t => {
  const caller = toCaller({ name: 'c', keySha256: [], jwtSubjects: [], mtlsSubjects: [], endpoints: ['*'], actions: undefined as any })
  t.same([...caller.actions], ['query_inference_endpoint'])
})

t.test('auth.jwt needs exactly one key source, one check for the loader and code-built configs', async t => {
  t.same(jwksSource({ jwksUrl: 'https://idp/jwks' }), { url: 'https://idp/jwks' })
  t.same(jwksSource({ jwksFile: '/k.json' }), { file: '/k.json' })
  for (const bad of [{}, { jwksUrl: 'https://idp/jwks', jwksFile: '/k.json' }]) {
    t.throws(() => jwksSource(bad), { code: 'ROUTEGATE_ERR_CONFIG', message: 'auth.jwt: needs exactly one of jwksUrl or jwksFile' })
    const doc = minimal()
    doc.auth = { jwt: { issuer: 'i', audience: 'a', ...bad } }
    t.throws(() => parseConfig(doc, { env: {} }), { message: 'auth.jwt: needs exactly one of jwksUrl or jwksFile' })
  }
})
