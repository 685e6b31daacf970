// Which workspace `routegate endpoints` talks to: a config file's (its workspaces alone are read),
// or flags and the Databricks environment variables; the secret never from a flag without a warning.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { resolveWorkspace, workspaceOrigin } from '../../src/cli/workspace.js'

const dir = mkdtempSync(join(tmpdir(), 'routegate-ws-'))
const file = join(dir, 'routegate.yaml')
// No endpoints yet, and a caller section whose variable this shell lacks: the workspaces still load.
writeFileSync(file, [
  'workspaces:',
  '  - name: prod',
  '    host: https://adb-1.2.azuredatabricks.net/',
  '    clientId: ${env:DATABRICKS_CLIENT_ID}',
  '    clientSecret: ${env:DATABRICKS_CLIENT_SECRET}',
  '  - name: dev',
  '    host: http://127.0.0.1:8081',
  '    clientId: dev-id',
  '    clientSecret: dev-secret',
  'callers:',
  '  - name: svc',
  '    keySha256: ${env:NOT_SET_HERE}',
  ''
].join('\n'))
const env = { DATABRICKS_CLIENT_ID: 'sp-id', DATABRICKS_CLIENT_SECRET: 'sp-secret' }

t.test('from a config file: the first workspace, or the one named', async t => {
  const warnings: string[] = []
  const first = resolveWorkspace({ config: file }, env, 'USAGE', (l) => warnings.push(l))
  t.match(first, { name: 'prod', host: 'https://adb-1.2.azuredatabricks.net', tokenUrl: 'https://adb-1.2.azuredatabricks.net/oidc/v1/token', clientId: 'sp-id' })
  t.equal(first.clientSecret?.reveal(), 'sp-secret')
  t.equal(String(first.clientSecret), '********')
  t.equal(resolveWorkspace({ workspace: 'dev' }, { ...env, ROUTEGATE_CONFIG: file }, 'USAGE', (l) => warnings.push(l)).name, 'dev', 'ROUTEGATE_CONFIG stands in for --config')
  t.throws(() => resolveWorkspace({ config: file, workspace: 'nope' }, env, 'USAGE', () => {}), { message: /no workspace 'nope' in .* \(it has: prod, dev\)/, usage: 'USAGE' })
  t.throws(() => resolveWorkspace({ config: file, host: 'x' }, env, 'USAGE', () => {}), { message: /are for use without --config/ })
  t.throws(() => resolveWorkspace({ config: file }, {}, 'USAGE', () => {}), { code: 'ROUTEGATE_ERR_CONFIG', message: /DATABRICKS_CLIENT_ID/ })
  t.same(warnings, [])
})

t.test('from flags and DATABRICKS_* variables', async t => {
  const warnings: string[] = []
  const ws = resolveWorkspace({ host: 'adb-1.2.azuredatabricks.net', 'client-id': 'id' }, { DATABRICKS_CLIENT_SECRET: 's' }, 'U', (l) => warnings.push(l))
  t.match(ws, { name: 'databricks', host: 'https://adb-1.2.azuredatabricks.net', tokenUrl: 'https://adb-1.2.azuredatabricks.net/oidc/v1/token', clientId: 'id', grant: 'client_credentials' })
  t.match(resolveWorkspace({ workspace: 'prod' }, { DATABRICKS_HOST: 'https://h.example', DATABRICKS_CLIENT_ID: 'i', DATABRICKS_CLIENT_SECRET: 's' }, 'U', () => {}), { name: 'prod', host: 'https://h.example', clientId: 'i' })
  t.same(warnings, [])
  resolveWorkspace({ host: 'http://10.0.0.1:8080', 'client-id': 'id', 'client-secret': 'flag-secret' }, {}, 'U', (l) => warnings.push(l))
  t.match(warnings, [/--client-secret is visible .* prefer DATABRICKS_CLIENT_SECRET/, /http:\/\/10.0.0.1:8080 is not loopback/])
  t.notMatch(warnings.join('\n'), 'flag-secret')
  t.throws(() => resolveWorkspace({}, {}, 'U', () => {}), { message: /which workspace\?/ })
  t.throws(() => resolveWorkspace({ host: 'https://h' }, {}, 'U', () => {}), { message: /--client-id ID .* is needed/ })
  t.throws(() => resolveWorkspace({ 'client-id': 'i' }, {}, 'U', () => {}), { message: /--host URL .* is needed/ })
  t.throws(() => resolveWorkspace({ host: 'https://h', 'client-id': 'i' }, {}, 'U', () => {}), { message: /set DATABRICKS_CLIENT_SECRET/ })
  t.throws(() => workspaceOrigin('ftp://h', 'U'), { message: /https:\/\// })
  t.throws(() => workspaceOrigin('https://u:p@h', 'U'), { message: /credentials/ })
})

t.test('a config file\'s http:// workspace that is not loopback is warned about, as the gateway does', async t => {
  const clear = join(dir, 'clear.yaml')
  writeFileSync(clear, 'workspaces:\n  - name: lan\n    host: http://192.0.2.7:8080\n    clientId: id\n    clientSecret: s3cret-value\n')
  const warnings: string[] = []
  resolveWorkspace({ config: clear }, {}, 'USAGE', (l) => warnings.push(l))
  t.same(warnings, ['warning: http://192.0.2.7:8080 is not loopback: the client secret and tokens would go over it in clear (use https://)'])
  t.notMatch(warnings.join(''), /s3cret/)
})
