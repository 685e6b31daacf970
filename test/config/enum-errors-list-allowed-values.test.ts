import t, { type Test } from 'tap'
import { parseConfig } from '../../src/config/load.js'

const base = (): any => ({
  workspaces: [{ name: 'prod', host: 'https://adb-1.7.azuredatabricks.net', clientId: 'sp-id', clientSecret: 'secret-value-xyz' }],
  endpoints: [{ name: 'fraud', workspace: 'prod', url: 'https://88fd3f75a0d24b0380ddc40484d7a31b.7.serving.azuredatabricks.net/1444828305810485/serving-endpoints/fraud/invocations' }],
  callers: [{ name: 'checkout', keySha256: 'a'.repeat(64), endpoints: ['fraud'] }]
})

const message = (t: Test, edit: (d: any) => void): string => {
  const doc = base()
  edit(doc)
  return (t.throws(() => parseConfig(doc, { env: {} })) as Error).message
}

t.test('a value outside a fixed set gets one line naming the field and the allowed values', async t => {
  const cases: Array<[string, (d: any) => void, string]> = [
    ['log.level', d => { d.log = { level: 'verbose' } }, 'log.level: must be one of fatal, error, warn, info, debug, trace, silent'],
    ['endpoints[].action', d => { d.endpoints[0].action = 'delete_everything' }, 'endpoints[0].action: must be one of query_inference_endpoint, manage_inference_endpoint'],
    ['tracing.mode', d => { d.tracing = { mode: 'off' } }, 'tracing.mode: must be one of hop, passthrough'],
    ['workspaces[].grant', d => { d.workspaces[0].grant = 'password' }, 'workspaces[0].grant: must be one of client_credentials, token_exchange, federation'],
    ['callers[].actions[]', d => { d.callers[0].actions = ['query_inference_endpoint', 'admin'] }, 'callers[0].actions[1]: must be one of query_inference_endpoint, manage_inference_endpoint']
  ]
  for (const [name, edit, expected] of cases) {
    t.equal(message(t, edit), `invalid config: ${expected}`, name)
  }
})

t.test('a union of forms gets one line naming them, not one per branch', async t => {
  t.equal(message(t, d => { d.callers[0].keySha256 = 'not-a-digest' }),
    'invalid config: callers[0].keySha256: must be a sha256 digest (64 hex digits) or a list of them')
  t.equal(message(t, d => { d.callers[0].keySha256 = ['a'.repeat(64), 'short'] }),
    'invalid config: callers[0].keySha256: must be a sha256 digest (64 hex digits) or a list of them')
})

t.test('several problems are all reported, each once', async t => {
  t.equal(message(t, d => { d.log = { level: 'loud' }; d.tracing = { mode: 'x' } }),
    'invalid config: log.level: must be one of fatal, error, warn, info, debug, trace, silent; tracing.mode: must be one of hop, passthrough')
})

t.test('the defaults of enum fields still apply', async t => {
  const c = parseConfig(base(), { env: {} })
  t.equal(c.log.level, 'info')
  t.equal(c.tracing.mode, 'hop')
  t.equal(c.workspaces[0]?.grant, 'client_credentials')
  t.equal(c.endpoints[0]?.action, 'query_inference_endpoint')
  t.same(c.callers[0]?.actions, ['query_inference_endpoint'])
})
