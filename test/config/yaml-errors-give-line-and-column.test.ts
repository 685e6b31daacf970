import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { loadConfig } from '../../src/config/load.js'

const SECRET = 'super-secret-value-123'
const REST = `workspaces:
  - name: prod
    host: https://adb-1.azuredatabricks.net
    clientId: sp
    clientSecret: ${SECRET}
endpoints:
  - name: fraud
    workspace: prod
    url: https://abc.serving.cloud.databricks.com/1444828305810485/serving-endpoints/fraud/invocations
callers:
  - name: c
    keySha256: ${'a'.repeat(64)}
    endpoints: ["*"]
`
const load = (text: string, env: Record<string, string> = {}): ReturnType<typeof loadConfig> =>
  loadConfig('/etc/routegate.yaml', { env, readFile: () => text })
const failure = (t: Test, text: string): string => (t.throws(() => load(text)) as Error).message

t.test('a syntax error names line and column and what is wrong, never the line itself', async t => {
  const broken = REST.replace(`clientSecret: ${SECRET}`, `clientSecret: [${SECRET}`)
  const msg = failure(t, broken)
  t.match(msg, /^config file \/etc\/routegate\.yaml is not valid YAML or JSON: line \d+, column \d+: /)
  t.notMatch(msg, SECRET)

  const unindented = 'server:\n  port: 8080\n host: x\n' + REST
  t.match(failure(t, unindented), /: line 3, column 1: All mapping items must start at the same column$/, 'the offending line and column (1-based)')

  const json = '{\n  "server": {"port": 8080,,}\n}\n'
  t.match(failure(t, json), /: line 2, column 27: /, 'JSON is parsed as YAML and located the same way')

  const escape = `server:\n  host: "x\\q${SECRET}"\n` + REST
  const escMsg = failure(t, escape)
  t.match(escMsg, /line 2, column \d+: invalid escape sequence in a double-quoted string/)
  t.notMatch(escMsg, SECRET)
})

t.test('the parser prints no warning (an unknown tag would be quoted on stderr)', async t => {
  const warnings: string[] = []
  const onWarning = (w: Error): void => { warnings.push(w.message) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  const c = load(`log:\n  level: !${SECRET} info\n` + REST)
  t.equal(c.log.level, 'info', 'an unknown tag leaves the value a string')
  await new Promise(resolve => setImmediate(resolve))
  t.same(warnings, [])
})

t.test('an unquoted ${env:…} inside a flow mapping: the error says to quote it', async t => {
  const msg = failure(t, 'server: { host: 0.0.0.0, port: ${env:PORT} }\n' + REST)
  t.match(msg, /line 1, column 33: .*quote a \$\{…\} reference: port: "\$\{env:PORT\}"/)
})

t.test("the configuration reference's flow-style example with a reference parses and resolves", async t => {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8')
  const block = /```yaml\n(server: \{[^\n]*\$\{env:PORT\}[^\n]*\n[\s\S]*?)```/.exec(doc)?.[1]
  t.ok(block, 'docs/configuration.md shows a flow mapping with ${env:PORT}')
  const c = load((block ?? '') + REST, { PORT: '9090', ADMIN_PORT: '9999' })
  t.equal(c.server.port, 9090)
  t.equal(c.server.host, '0.0.0.0')
  t.equal(c.admin.port, 9999)
})
