import t from 'tap'
import { inspect } from 'node:util'
import { loadConfig, parseConfig } from '../../src/config/load.js'

const HASH = 'a'.repeat(64)
const SECRET = 'super-secret-value-123'
const base = (): any => ({
  workspaces: [{ name: 'prod', host: 'https://adb-1.7.azuredatabricks.net/', clientId: 'sp-id', clientSecret: SECRET }],
  endpoints: [{ name: 'fraud', workspace: 'prod', url: 'https://88fd3f75a0d24b0380ddc40484d7a31b.7.serving.azuredatabricks.net/1444828305810485/serving-endpoints/fraud/invocations' }],
  callers: [{ name: 'checkout', keySha256: HASH, endpoints: ['fraud'] }]
})

t.test('fills defaults and derives endpoint id, token URL and action', async t => {
  const c = parseConfig(base(), { env: {} })
  t.match(c.server, { host: '0.0.0.0', port: 8080, bodyLimitBytes: 16 * 1024 * 1024, shutdownGraceMs: 30000, replayBufferBytes: 1024 * 1024 })
  t.equal(c.workspaces[0]?.grant, 'client_credentials')
  t.equal(c.endpoints[0]?.bodyLimitBytes, 16 * 1024 * 1024)
  t.same(c.admin, { host: '0.0.0.0', port: 9464 })
  t.equal(c.workspaces[0]?.tokenUrl, 'https://adb-1.7.azuredatabricks.net/oidc/v1/token')
  t.equal(c.endpoints[0]?.endpointId, '88fd3f75a0d24b0380ddc40484d7a31b')
  t.equal(c.endpoints[0]?.action, 'query_inference_endpoint')
  t.equal(c.endpoints[0]?.timeoutMs, 300000)
  t.same(c.callers[0]?.keySha256, [HASH])
  t.ok(Object.isFrozen(c.endpoints[0]))
})

t.test('interpolates env and file references; secrets never print', async t => {
  const doc = base()
  doc.workspaces[0].clientId = '${env:CLIENT_ID}'
  doc.workspaces[0].clientSecret = '${file:/run/secrets/sp}'
  const files: Record<string, string> = { '/run/secrets/sp': SECRET + '\n' }
  const c = parseConfig(doc, { env: { CLIENT_ID: 'from-env' }, readFile: p => files[p] ?? '' })
  const ws = c.workspaces[0]!
  t.equal(ws.clientId, 'from-env')
  t.equal(ws.clientSecret?.reveal(), SECRET, 'trailing newline trimmed')
  t.notMatch(JSON.stringify(c), SECRET)
  t.notMatch(inspect(c, { depth: 10 }), SECRET)
  t.notMatch(String(ws.clientSecret), SECRET)
  files['/run/secrets/sp'] = 'rotated-secret'
  t.equal(ws.clientSecret?.reveal(), 'rotated-secret', 'a rotated secret file is re-read')
})

t.test('start-up errors name the field, never the secret', async t => {
  const cases: Array<[string, (d: any) => void, RegExp]> = [
    ['missing env', d => { d.workspaces[0].clientSecret = '${env:NOPE}' }, /workspaces\[0\]\.clientSecret: environment variable NOPE is not set/],
    ['missing file', d => { d.workspaces[0].clientSecret = '${file:/nonexistent/x}' }, /workspaces\[0\]\.clientSecret: cannot read file \/nonexistent\/x/],
    ['unknown field', d => { d.endpoints[0].colour = 'red' }, /endpoints\[0\]: unknown field 'colour'/],
    ['undefined workspace', d => { d.endpoints[0].workspace = 'dev' }, /endpoints\[0\]\.workspace: no workspace named 'dev'/],
    ['unknown caller endpoint', d => { d.callers[0].endpoints = ['nope'] }, /callers\[0\]\.endpoints\[0\]: no endpoint named 'nope'/],
    ['bad hash', d => { d.callers[0].keySha256 = SECRET }, /callers\[0\]\.keySha256/],
    ['missing section', d => { delete d.callers }, /callers: required/],
    ['duplicate endpoint', d => { d.endpoints.push({ ...d.endpoints[0] }) }, /endpoints: duplicate 'fraud'/],
    ['ip host without id', d => { d.endpoints[0].url = 'http://127.0.0.1:9999/x/serving-endpoints/fraud/invocations' }, /endpoints\[0\]\.endpointId: required/],
    ['bad action', d => { d.endpoints[0].action = 'delete_everything' }, /endpoints\[0\]\.action/],
    ['shell-style reference', d => { d.workspaces[0].clientSecret = '${DATABRICKS_CLIENT_SECRET}' }, /^workspaces\[0\]\.clientSecret: \$\{DATABRICKS_CLIENT_SECRET\} is not a reference .*: use \$\{env:DATABRICKS_CLIENT_SECRET\}$/]
  ]
  for (const [name, edit, expected] of cases) {
    const doc = base()
    edit(doc)
    const err = t.throws(() => parseConfig(doc, { env: {}, readFile: () => { throw Object.assign(new Error('x'), { code: 'ENOENT' }) } }), name) as Error & { code: string }
    t.equal(err.code, 'ROUTEGATE_ERR_CONFIG', name)
    t.match(err.message, expected, name)
    t.notMatch(err.message, SECRET, `${name}: no secret in the message`)
  }
})

t.test('loads YAML files; a syntax error does not quote the line', async t => {
  const yaml = `workspaces:\n  - name: prod\n    host: https://adb-1.azuredatabricks.net\n    clientId: sp\n    clientSecret: ${SECRET}\nendpoints:\n  - name: fraud\n    workspace: prod\n    url: https://abc.serving.cloud.databricks.com/1444828305810485/serving-endpoints/fraud/invocations\ncallers:\n  - name: c\n    keySha256: ${HASH}\n    endpoints: ["*"]\n`
  const c = loadConfig('/etc/routegate.yaml', { env: {}, readFile: () => yaml })
  t.equal(c.endpoints[0]?.endpointId, 'abc')
  const broken = yaml.replace(`clientSecret: ${SECRET}`, `clientSecret: [${SECRET}`)
  const err = t.throws(() => loadConfig('/etc/routegate.yaml', { env: {}, readFile: () => broken })) as Error
  t.match(err.message, /not valid YAML or JSON/)
  t.notMatch(err.message, SECRET)
  const missing = t.throws(() => loadConfig('/nope.yaml', { readFile: () => { throw Object.assign(new Error('x'), { code: 'ENOENT' }) } })) as Error
  t.match(missing.message, /cannot read config file \/nope\.yaml \(ENOENT\)/)
})

t.test('numbers and booleans may come from ${env:...}', async t => {
  const doc = base()
  doc.server = { port: '${env:PORT}' }
  const c = parseConfig(doc, { env: { PORT: '9090' } })
  t.equal(c.server.port, 9090)
  doc.server = { port: '${env:PORT}' }
  t.throws(() => parseConfig(doc, { env: { PORT: 'eighty' } }), /server\.port: must be integer/)
})
