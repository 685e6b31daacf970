// workspaces[].host and --host: a scheme and a host (and port) only, else an error showing the URL to use.
import t from 'tap'
import { checkWorkspaceHost, hostProblem } from '../../src/config/workspace-host.js'
import { parseConfig, WorkspaceHostError } from '../../src/config/load.js'
import { workspaceOrigin } from '../../src/cli/workspace.js'

t.test('origins pass, normalised without a trailing slash', async t => {
  t.same(checkWorkspaceHost('https://adb-1.azuredatabricks.net'), { ok: true, origin: 'https://adb-1.azuredatabricks.net' })
  t.same(checkWorkspaceHost('https://adb-1.azuredatabricks.net/'), { ok: true, origin: 'https://adb-1.azuredatabricks.net' })
  t.same(checkWorkspaceHost('http://127.0.0.1:8081'), { ok: true, origin: 'http://127.0.0.1:8081' })
  t.same(checkWorkspaceHost('HTTPS://Dbc-1.Cloud.Databricks.com:443/'), { ok: true, origin: 'https://dbc-1.cloud.databricks.com' })
})

t.test('a path, query or fragment is refused, with the origin to use', async t => {
  const cases: Array<[string, RegExp]> = [
    ['https://adb-1.azuredatabricks.net/?o=123', /has a query/],
    ['https://adb-1.azuredatabricks.net?o=123', /has a query/],
    ['https://adb-1.azuredatabricks.net/?', /has a query/],
    ['https://adb-1.azuredatabricks.net/#/setting', /has a fragment/],
    ['https://adb-1.azuredatabricks.net/api/2.0', /has a path/],
    ['https://adb-1.azuredatabricks.net//', /has a path/],
    ['https://adb-1.azuredatabricks.net/sql/?o=1#x', /has a path and a query and a fragment/]
  ]
  for (const [value, problem] of cases) {
    const r = checkWorkspaceHost(value)
    t.match(r, { ok: false, problem, use: 'https://adb-1.azuredatabricks.net' }, value)
    if (!r.ok) t.equal(hostProblem('workspaces[0].host', r), `workspaces[0].host: ${r.problem}; use https://adb-1.azuredatabricks.net`)
  }
})

t.test('not a URL, another scheme, credentials: refused, and credentials are not echoed', async t => {
  t.match(checkWorkspaceHost('adb-1'), { ok: false, problem: /is not a URL/ })
  t.match(checkWorkspaceHost('ftp://h'), { ok: false, problem: /not https/ })
  const creds = checkWorkspaceHost('https://user:hunter2-secret@h.example')
  t.match(creds, { ok: false, problem: /credentials/, use: 'https://h.example' })
  t.notMatch(JSON.stringify(creds), 'hunter2')
  t.ok(JSON.stringify(checkWorkspaceHost('https://h/' + 'x'.repeat(10_000))).length < 1000, 'a long value is not echoed whole')
})

t.test('config load: workspaces[].host with a query is a WorkspaceHostError (exit 64) naming the field and the fix', async t => {
  const doc = {
    workspaces: [{ name: 'prod', host: 'https://adb-1.azuredatabricks.net/?o=123', clientId: 'sp', clientSecret: 'x' }],
    endpoints: [{ name: 'fraud', workspace: 'prod', url: 'http://127.0.0.1:9/x', endpointId: 'e1' }],
    callers: [{ name: 'c', keySha256: 'a'.repeat(64), endpoints: ['*'] }]
  }
  const err = t.throws(() => parseConfig(doc, { env: {} })) as Error & { code: string, exitCode: number }
  t.ok(err instanceof WorkspaceHostError)
  t.equal(err.code, 'ROUTEGATE_ERR_CONFIG')
  t.equal(err.exitCode, 64)
  t.match(err.message, /^workspaces\[0\]\.host: .* has a query: .*; use https:\/\/adb-1\.azuredatabricks\.net$/)
  doc.workspaces[0] = { ...doc.workspaces[0], host: 'https://adb-1.azuredatabricks.net/' } as typeof doc.workspaces[0]
  const c = parseConfig(doc, { env: {} })
  t.equal(c.workspaces[0]?.host, 'https://adb-1.azuredatabricks.net')
  t.equal(c.workspaces[0]?.tokenUrl, 'https://adb-1.azuredatabricks.net/oidc/v1/token')
})

t.test('--host: the same rule, as a usage error', async t => {
  t.equal(workspaceOrigin('adb-1.azuredatabricks.net', 'U'), 'https://adb-1.azuredatabricks.net')
  t.throws(() => workspaceOrigin('https://adb-1.azuredatabricks.net/?o=123', 'U'), { message: /^--host: .* has a query: .*; use https:\/\/adb-1\.azuredatabricks\.net$/ })
  t.throws(() => workspaceOrigin('adb-1.azuredatabricks.net/path', 'U'), { message: /has a path.*; use https:\/\/adb-1\.azuredatabricks\.net$/ })
})
