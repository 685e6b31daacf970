import t from 'tap'
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { configWarnings, parseConfig } from '../../src/config/load.js'

const CLI = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url))
const HASH = 'a'.repeat(64)

const config = (host: string, extra: Record<string, unknown> = {}): ReturnType<typeof parseConfig> => parseConfig({
  workspaces: [{ name: 'ws', host, clientId: 'sp', clientSecret: 'secret-value-xyz', ...extra }],
  endpoints: [{ name: 'fraud', workspace: 'ws', url: 'https://abc.serving.cloud.databricks.com/1/serving-endpoints/fraud/invocations' }],
  callers: [{ name: 'c', keySha256: HASH, endpoints: ['*'] }]
}, { env: {} })

t.test('an http:// workspace host that is not loopback is warned about, once', async t => {
  for (const host of ['http://dbx.internal', 'http://10.0.0.5:8080', 'http://127.example.com', 'http://[::2]']) {
    const w = configWarnings(config(host))
    t.equal(w.length, 1, host)
    t.equal(w[0]?.field, 'workspaces[0].host', host)
    t.match(w[0]?.message, /^http:\/\/\S+ is not loopback: the client secret and tokens would go over it in clear \(use https:\/\/\)$/, host)
  }
  // Userinfo in a host is refused outright now (config/workspace-host.ts), and never echoed.
  t.throws(() => config('http://user:pw@dbx.internal'), { message: /^workspaces\[0\]\.host: has credentials in it .*; use http:\/\/dbx\.internal$/ })
})

t.test('loopback and https:// hosts are not warned about', async t => {
  for (const host of ['https://adb-1.azuredatabricks.net', 'http://127.0.0.1:8081', 'http://127.1.2.3', 'http://localhost:9000', 'http://[::1]:8081']) {
    t.same(configWarnings(config(host)), [], host)
  }
})

t.test('a tokenUrl elsewhere over http:// is warned about by itself; endpoint urls too', async t => {
  const w = configWarnings(config('https://adb-1.azuredatabricks.net', { tokenUrl: 'http://idp.internal/oidc/v1/token' }))
  t.same(w.map(x => x.field), ['workspaces[0].tokenUrl'])
  t.match(w[0]?.message, /^http:\/\/idp\.internal is not loopback/)
  const ep = parseConfig({
    workspaces: [{ name: 'ws', host: 'https://adb-1.azuredatabricks.net', clientId: 'sp', clientSecret: 'x' }],
    endpoints: [{ name: 'e', workspace: 'ws', url: 'http://10.1.2.3:8080/serving-endpoints/e/invocations', endpointId: 'abc' }],
    callers: [{ name: 'c', keySha256: HASH, endpoints: ['*'] }]
  }, { env: {} })
  t.same(configWarnings(ep), [{ field: 'endpoints[0].url', message: "http://10.1.2.3:8080 is not loopback: the endpoint's token would go over it in clear (use https://)" }])
})

const yaml = (host: string): string => `server: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
workspaces:
  - name: ws
    host: ${host}
    clientId: sp
    clientSecret: secret-value-xyz
endpoints:
  - name: fraud
    workspace: ws
    url: https://abc.serving.cloud.databricks.com/1/serving-endpoints/fraud/invocations
    connectTimeoutMs: 200
callers:
  - name: c
    keySha256: ${HASH}
    endpoints: ["*"]
`

t.test('check-config prints the warning on stderr and still exits 0', async t => {
  const dir = t.testdir({ 'http.yaml': yaml('http://192.0.2.1'), 'loop.yaml': yaml('http://127.0.0.1:1') })
  const run = (file: string): Promise<{ code: number, stderr: string }> => new Promise(resolve => {
    execFile(process.execPath, [CLI, 'check-config', '--config', file], { timeout: 60_000 }, (err, _out, stderr) => {
      resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), stderr })
    })
  })
  const r = await run(`${dir}/http.yaml`)
  t.equal(r.code, 0)
  t.match(r.stderr, /^warning: workspaces\[0\]\.host: http:\/\/192\.0\.2\.1 is not loopback: the client secret and tokens would go over it in clear \(use https:\/\/\)\nconfig ok: /)
  const l = await run(`${dir}/loop.yaml`)
  t.equal(l.code, 0)
  t.notMatch(l.stderr, /warning/)
})

t.test('the gateway logs it once at start', async t => {
  const dir = t.testdir({})
  writeFileSync(`${dir}/c.yaml`, yaml('http://192.0.2.1'))
  const child = spawn(process.execPath, [CLI, '--config', `${dir}/c.yaml`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ROUTEGATE_CONFIG: '' } })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let out = ''
  child.stdout.on('data', (b: Buffer) => { out += b.toString() })
  child.stderr.on('data', (b: Buffer) => { out += b.toString() })
  const deadline = Date.now() + 60_000 // generous: a loaded machine has taken over 10 s to start the binary
  while (!out.includes('routegate listening') && Date.now() < deadline && child.exitCode === null) await new Promise(resolve => setTimeout(resolve, 50))
  t.match(out, /routegate listening/)
  child.kill('SIGTERM')
  await once(child, 'exit')
  const warnings = out.split('\n').filter(l => l.includes('is not loopback'))
  t.equal(warnings.length, 1, 'once')
  const line = JSON.parse(warnings[0] ?? '{}') as { level?: number, field?: string, msg?: string }
  t.equal(line.level, 40, 'at warn level')
  t.equal(line.field, 'workspaces[0].host')
  t.equal(line.msg, 'workspaces[0].host: http://192.0.2.1 is not loopback: the client secret and tokens would go over it in clear (use https://)')
  t.notMatch(out, 'secret-value-xyz')
})
