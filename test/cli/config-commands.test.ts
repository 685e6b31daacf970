import t from 'tap'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url))
// A bound for a hung binary, not a slow machine: a start-up takes about 0.2 s on a quiet
// 2-core machine and has taken over 15 s with two suites running beside it.
const SPAWN_TIMEOUT_MS = 60_000

function run (args: string[], env: Record<string, string> = {}): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise(resolve => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: SPAWN_TIMEOUT_MS }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), stdout, stderr })
    })
  })
}

t.test('hash-key makes a key and prints its sha256, or hashes a given one', async t => {
  const long = 'rgk_a-key-of-the-callers-own-choosing-0123'
  // Independent processes, started together.
  const [made, given, short] = await Promise.all([run(['hash-key']), run(['hash-key', long]), run(['hash-key', 'test'])])
  t.equal(made.code, 0)
  const key = /key: +(\S+)/.exec(made.stdout)?.[1] ?? ''
  const hash = /keySha256: ([0-9a-f]{64})/.exec(made.stdout)?.[1]
  t.match(key, /^rgk_/)
  t.equal(hash, createHash('sha256').update(key).digest('hex'))
  t.equal(given.stdout.trim(), `keySha256: ${createHash('sha256').update(long).digest('hex')}`)
  t.equal(short.code, 64, 'a key shorter than 32 characters is refused')
  t.match(short.stderr, /at least 32 characters/)
})

t.test('check-config prints the resolved config with secrets masked, and names bad fields', async t => {
  const dir = t.testdir({
    'secret.txt': 'the-client-secret\n',
    'good.yaml': `workspaces:\n  - name: prod\n    host: https://adb-1.azuredatabricks.net\n    workspaceId: 1444828305810485\n    clientId: \${env:CID}\n    clientSecret: \${file:SECRET_PATH}\nendpoints:\n  - name: fraud\n    workspace: prod\n    url: https://abc.serving.cloud.databricks.com\ncallers:\n  - name: c\n    keySha256: ${'b'.repeat(64)}\n    endpoints: ["*"]\n`,
    'bad.yaml': 'workspaces: []\nendpoints: []\ncallers: []\nextra: 1\n'
  })
  const good = `${dir}/good.yaml`
  const { writeFileSync, readFileSync } = await import('node:fs')
  writeFileSync(good, readFileSync(good, 'utf8').replace('SECRET_PATH', `${dir}/secret.txt`))
  const [ok, bad, missingEnv, usage] = await Promise.all([
    run(['check-config', '--config', good], { CID: 'client-123' }),
    run(['check-config', '--config', `${dir}/bad.yaml`]),
    run(['check-config', '--config', good]),
    run(['frobnicate'])
  ])
  t.equal(ok.code, 0, ok.stderr)
  const printed = JSON.parse(ok.stdout)
  t.equal(printed.workspaces[0].clientId, 'client-123')
  t.equal(printed.workspaces[0].clientSecret, '********')
  t.notMatch(ok.stdout + ok.stderr, 'the-client-secret')
  t.equal(printed.workspaces[0].workspaceId, '1444828305810485', 'a YAML number is taken as the string of its digits')
  t.equal(printed.endpoints[0].url, 'https://abc.serving.cloud.databricks.com/1444828305810485/serving-endpoints/fraud/invocations')

  t.equal(bad.code, 1)
  t.match(bad.stderr, /unknown field 'extra'/)
  t.equal(missingEnv.code, 1)
  t.match(missingEnv.stderr, /workspaces\[0\]\.clientId: environment variable CID is not set/)
  t.equal(usage.code, 64)
  t.match(usage.stderr, /unknown command 'frobnicate'/)
})

t.test('a workspace host with a query exits 64 from check-config and from start, showing the URL to use', async t => {
  const dir = t.testdir({
    'azure.yaml': 'workspaces:\n  - name: prod\n    host: https://adb-1.azuredatabricks.net/?o=123\n    clientId: sp\n    clientSecret: s3cret-value\nendpoints:\n  - name: fraud\n    workspace: prod\n    url: http://127.0.0.1:9/x\n    endpointId: e1\ncallers:\n  - name: c\n    keySha256: ' + 'b'.repeat(64) + '\n    endpoints: ["*"]\n'
  })
  for (const args of [['check-config', '--config', `${dir}/azure.yaml`], ['--config', `${dir}/azure.yaml`]]) {
    const r = await run(args)
    t.equal(r.code, 64, args.join(' '))
    t.match(r.stderr, /^routegate: workspaces\[0\]\.host: 'https:\/\/adb-1\.azuredatabricks\.net\/\?o=123' has a query: the workspace URL is a scheme and a host only; use https:\/\/adb-1\.azuredatabricks\.net\n/)
    t.notMatch(r.stderr, /s3cret/)
  }
})

t.test('a busy port is one clear line naming server.port or admin.port', async t => {
  const { createServer } = await import('node:net')
  const busy = createServer()
  await new Promise<void>(resolve => busy.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { busy.close() })
  const port = (busy.address() as { port: number }).port
  const base = (server: number, admin: number): string => JSON.stringify({
    server: { host: '127.0.0.1', port: server },
    admin: { host: '127.0.0.1', port: admin },
    workspaces: [{ name: 'w', host: 'http://127.0.0.1:9', clientId: 'sp', clientSecret: 's3cret-value' }],
    endpoints: [{ name: 'e', workspace: 'w', url: 'http://127.0.0.1:9/x', endpointId: 'e1' }],
    callers: [{ name: 'c', keySha256: 'b'.repeat(64), endpoints: ['*'] }]
  })
  const dir = t.testdir({ 'server.json': base(port, 0), 'admin.json': base(0, port) })
  for (const section of ['server', 'admin']) {
    const r = await run(['--config', `${dir}/${section}.json`])
    t.equal(r.code, 1, section)
    t.match(r.stderr, new RegExp(`^routegate: ${section}\\.port ${port} on ${section}\\.host 127\\.0\\.0\\.1: the port is in use by another process \\(EADDRINUSE\\): stop it or set another ${section}\\.port\\n$`))
  }
})
