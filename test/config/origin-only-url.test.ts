import t from 'tap'
import { loadConfig, parseConfig } from '../../src/config/load.js'
import { startStack } from '../helpers/stack.js'

const base = (url: string, workspace: Record<string, unknown> = {}): any => ({
  workspaces: [{ name: 'other', host: 'https://adb-2.azuredatabricks.net', clientId: 'sp', clientSecret: 'x' },
    { name: 'prod', host: 'https://adb-1.7.azuredatabricks.net', clientId: 'sp-id', clientSecret: 'secret-value-xyz', ...workspace }],
  endpoints: [{ name: 'fraud', workspace: 'prod', url, remoteName: 'fraud-v2' }],
  callers: [{ name: 'checkout', keySha256: 'a'.repeat(64), endpoints: ['fraud'] }]
})

t.test('with workspaces[].workspaceId, an origin-only url gets the route-optimized path', async t => {
  for (const url of ['https://abc123.serving.cloud.databricks.com', 'https://abc123.7.serving.azuredatabricks.net/']) {
    const c = parseConfig(base(url, { workspaceId: '1444828305810485' }), { env: {} })
    t.equal(c.endpoints[0]?.url, `${new URL(url).origin}/1444828305810485/serving-endpoints/fraud-v2/invocations`, url)
    t.equal(c.endpoints[0]?.endpointId, 'abc123')
    t.equal(c.workspaces[1]?.workspaceId, '1444828305810485')
  }
})

t.test('a full url is used verbatim, workspaceId or not', async t => {
  const url = 'https://abc123.serving.cloud.databricks.com/999/serving-endpoints/fraud-v2/invocations'
  t.equal(parseConfig(base(url, { workspaceId: '1444828305810485' }), { env: {} }).endpoints[0]?.url, url)
})

t.test('a route-optimized origin without the workspace id is refused at load, saying what to do', async t => {
  const err = t.throws(() => parseConfig(base('https://abc123.serving.cloud.databricks.com'), { env: {} })) as Error & { code: string }
  t.equal(err.code, 'ROUTEGATE_ERR_CONFIG')
  t.equal(err.message, 'endpoints[0].url: abc123.serving.cloud.databricks.com is a route-optimized host, whose invocation path carries the workspace id: set workspaces[1].workspaceId, give the full invocation URL, or omit url to discover it')
})

t.test('an origin that is not a Databricks serving host keeps the plain path without a workspace id', async t => {
  const doc = base('http://127.0.0.1:9999')
  doc.endpoints[0].endpointId = 'e1'
  t.equal(parseConfig(doc, { env: {} }).endpoints[0]?.url, 'http://127.0.0.1:9999/serving-endpoints/fraud-v2/invocations')
  doc.workspaces[1].workspaceId = '42'
  t.equal(parseConfig(doc, { env: {} }).endpoints[0]?.url, 'http://127.0.0.1:9999/42/serving-endpoints/fraud-v2/invocations', 'with one, it is used for any host')
})

t.test('workspaceId is digits; a YAML number is fine unless it lost digits', async t => {
  for (const bad of ['abc', '12-3', '']) {
    t.throws(() => parseConfig(base('https://a.serving.cloud.databricks.com/1/x', { workspaceId: bad }), { env: {} }), /workspaces\[1\]\.workspaceId: must match pattern/, JSON.stringify(bad))
  }
  const yaml = (id: string): string => `workspaces:\n  - name: prod\n    host: https://adb-1.azuredatabricks.net\n    workspaceId: ${id}\n    clientId: sp\n    clientSecret: s\nendpoints:\n  - name: fraud\n    workspace: prod\n    url: https://abc.serving.cloud.databricks.com\ncallers:\n  - name: c\n    keySha256: ${'a'.repeat(64)}\n    endpoints: ["*"]\n`
  const load = (id: string): ReturnType<typeof loadConfig> => loadConfig('/c.yaml', { env: {}, readFile: () => yaml(id) })
  t.equal(load('1444828305810485').endpoints[0]?.url, 'https://abc.serving.cloud.databricks.com/1444828305810485/serving-endpoints/fraud/invocations')
  t.equal(load('"98765432109876543"').workspaces[0]?.workspaceId, '98765432109876543', 'quoted, any length up to 20 digits')
  t.throws(() => load('98765432109876543'), /^workspaces\[0\]\.workspaceId: too many digits for a YAML number: quote it/)
})

t.test('against the emulator (no workspace-URL invocations): an origin-only url with workspaceId is served', async t => {
  const stack = await startStack(t, {
    config: (doc, emu) => {
      doc.workspaces[0]!.workspaceId = emu.workspaceId
      for (const e of doc.endpoints) e.url = emu.url
    }
  })
  t.equal(stack.config.endpoints[0]?.url, stack.emu.endpointUrl('fraud-model'))
  const res = await stack.invoke('fraud-model')
  t.equal(res.status, 200, res.text)
  t.ok(Array.isArray(res.json().predictions))
})
