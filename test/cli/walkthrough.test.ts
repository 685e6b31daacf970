// The README walkthrough (docs/walkthrough.sh), run as it is against the emulator with the built
// binary: create a model and a feature-spec endpoint, wait for READY, put them behind a running
// gateway (start, then SIGHUP), check the token's scope, call both. Then the documented errors.
import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { request } from 'undici'
import { openWorkspaceSession, resolveWorkspace } from '../../src/cli/workspace.js'
import { createServingEndpointsClient } from '../../src/workspace/serving-endpoints.js'
import { freePort } from '../helpers/stack.js'

const CLI = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url))
const SCRIPT = fileURLToPath(new URL('../../docs/walkthrough.sh', import.meta.url))
const JWT = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/

interface Run { code: number | null, stdout: string, stderr: string }

t.test('the walkthrough, end to end', async t => {
  // The emulator as a user starts it: `routegate emulator --empty` (port 0: any free one), its
  // address and test credentials read from the banner it prints.
  const emuChild = spawn(process.execPath, [CLI, 'emulator', '--empty', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { emuChild.kill('SIGKILL') })
  const banner = await new Promise<string>((resolve, reject) => {
    let text = ''
    // Generous: a cold start of the built CLI on a loaded 2-core machine.
    const timer = setTimeout(() => reject(new Error(`no emulator banner within 30 s: ${text}`)), 30_000)
    emuChild.stdout.on('data', (d: Buffer) => {
      text += d.toString()
      if (/clientSecret=\S+\s/.test(text)) {
        clearTimeout(timer)
        resolve(text)
      }
    })
    emuChild.on('exit', code => { clearTimeout(timer); reject(new Error(`the emulator exited (${String(code)}): ${text}`)) })
  })
  const [, emuUrl = '', workspaceId = ''] = /Databricks emulator on (\S+) \(workspace id (\d+)\)/.exec(banner) ?? []
  const [, clientId = '', clientSecret = ''] = /clientId=(\S+) clientSecret=(\S+)/.exec(banner) ?? []
  t.notMatch(banner, /endpoint \S+: id=/, '--empty: no endpoint to begin with')
  const p = { clientId, clientSecret }
  const endpointUrl = (name: string): string => `${emuUrl}/${workspaceId}/serving-endpoints/${name}/invocations`
  const mintsFor = async (id: string): Promise<number> => {
    const r = await request(`${emuUrl}/_emulator/stats`)
    const stats = await r.body.json() as { mints: { byScope: Record<string, number> } }
    return stats.mints.byScope[`${id}:query_inference_endpoint`] ?? 0
  }
  const dir = mkdtempSync(join(tmpdir(), 'routegate-walkthrough-'))
  // `routegate` on the PATH is the built binary.
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  writeFileSync(join(bin, 'routegate'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`)
  chmodSync(join(bin, 'routegate'), 0o755)
  const [gatewayPort, adminPort] = [await freePort(), await freePort()]
  const env = {
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    HOME: dir,
    DATABRICKS_HOST: emuUrl,
    DATABRICKS_CLIENT_ID: p.clientId,
    DATABRICKS_CLIENT_SECRET: p.clientSecret,
    GATEWAY_PORT: String(gatewayPort),
    ADMIN_PORT: String(adminPort)
  }
  const run = async (cmd: string, args: string[], timeoutMs = 60_000): Promise<Run> => {
    const child = spawn(cmd, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    const code = await new Promise<number | null>(resolve => child.on('close', resolve))
    clearTimeout(timer)
    return { code, stdout, stderr }
  }
  const routegate = async (...args: string[]): Promise<Run> => await run(process.execPath, [CLI, ...args])
  t.teardown(() => {
    try {
      process.kill(Number(readFileSync(join(dir, 'routegate.pid'), 'utf8')), 'SIGKILL')
    } catch {}
  })

  const walk = await run('sh', [SCRIPT], 90_000)
  t.teardown(() => { if (t.passing() === false) t.comment(walk.stdout, walk.stderr, readFileSync(join(dir, 'routegate.log'), 'utf8').slice(-3000)) })
  t.equal(walk.code, 0, 'the script runs to its end')
  const ws = resolveWorkspace({}, env, '', () => {})
  const session = openWorkspaceSession(ws)
  t.teardown(() => session.close())
  const client = createServingEndpointsClient({ host: ws.host, token: session.token, dispatcher: session.dispatcher, timeoutMs: 10_000 })
  const fraud = await client.get('fraud-model')
  const features = await client.get('user-features')
  t.ok(fraud.id !== undefined && features.id !== undefined, 'both endpoints were created')
  t.match(walk.stderr, /created endpoint fraud-model \(id [0-9a-f]{32}, route optimized\): NOT_READY \(updating\)/)
  t.match(walk.stderr, /\[ +0s\] fraud-model: NOT_READY \(updating\)/, 'wait reports the state')
  t.match(walk.stderr, /fraud-model: READY after \d+s/)
  t.match(walk.stderr, /user-features: READY after \d+s/)

  // The config the script grew: both snippets, with url and id.
  const config = readFileSync(join(dir, 'routegate.yaml'), 'utf8')
  t.match(config, `endpointId: ${fraud.id ?? ''}`)
  t.match(config, `url: ${endpointUrl('user-features')}`)

  t.match(config, 'clientSecret: ${env:DATABRICKS_CLIENT_SECRET}')
  t.notMatch(config, p.clientSecret, 'the secret is not in the file')

  // The list, the token report (scope and expiry, no token), and both answers.
  t.match(walk.stdout, /NAME +STATE +ROUTE-OPTIMIZED +SERVES +ID\nfraud-model +READY +yes +main\.default\.fraud_model@1 +[0-9a-f]{32}\nuser-features +READY +yes +main\.default\.user_features +[0-9a-f]{32}/)
  t.match(walk.stdout, new RegExp(`scope: +/serving-endpoints/${fraud.id ?? ''} query_inference_endpoint`))
  t.match(walk.stdout, new RegExp(`scope: +/serving-endpoints/${features.id ?? ''} query_inference_endpoint`), 'the running gateway holds the feature endpoint\'s token')
  t.match(walk.stdout, /endpoint: +user-features\n(.*\n){4}state: +valid\n/, 'read from the admin API after the call')
  t.match(walk.stdout, /expires: +\d{4}-\d\d-\d\dT[\d:.]+Z \(in (59m\d\ds|1h00m)\)/)
  t.match(walk.stdout, /token: +hidden/)
  t.notMatch(walk.stdout + walk.stderr, JWT, 'no token in anything the walkthrough printed')
  t.match(walk.stdout, /\{"predictions":\[[\d.]+\]\}/, 'the model answered through the gateway')
  t.match(walk.stdout, /\{"outputs":\[\{"user_id":42,"feature_0":/, 'the feature spec answered dataframe_records with outputs')
  t.equal(await mintsFor(fraud.id ?? '') > 0 && await mintsFor(features.id ?? '') > 0, true, 'each with its own scoped token')

  // The commands below are independent processes: started together, they cost about one
  // start-up's wait instead of six.
  const [revealed, both, local, noVersion, taken, plain] = await Promise.all([
    routegate('token', 'fraud-model', '--config', join(dir, 'routegate.yaml'), '--reveal', '--json'),
    routegate('token', 'fraud-model', '--admin', `http://127.0.0.1:${adminPort}`, '--reveal'),
    routegate('endpoints', 'create', 'fraud.model', '--model', 'main.default.fraud_model', '--version', '1'),
    routegate('endpoints', 'create', 'x', '--model', 'main.default.fraud_model'),
    routegate('endpoints', 'create', 'fraud-model', '--config', join(dir, 'routegate.yaml'), '--model', 'main.default.fraud_model', '--version', '2'),
    routegate('endpoints', 'create', 'plain-model', '--model', 'main.default.fraud_model', '--version', '1', '--no-route-optimized')
  ])
  // --reveal prints the token, with a warning; the token is scoped to that endpoint only.
  t.equal(revealed.code, 0)
  t.match(revealed.stderr, /warning: printing a bearer token: anyone who sees it can query fraud-model until/)
  const report = JSON.parse(revealed.stdout)
  t.match(report, { endpoint: 'fraud-model', workspace: 'prod', endpointId: fraud.id, action: 'query_inference_endpoint', discovered: false, state: 'valid' })
  t.match(report.token, JWT)
  const query = async (name: string): Promise<number> => {
    const r = await request(endpointUrl(name), { method: 'POST', headers: { authorization: `Bearer ${String(report.token)}`, 'content-type': 'application/json' }, body: '{"inputs":[1]}' })
    await r.body.dump()
    return r.statusCode
  }
  t.equal(await query('fraud-model'), 200, 'the revealed token works for its endpoint')
  t.equal(await query('user-features'), 403, 'and for no other')
  t.equal(both.code, 64, '--reveal with --admin is a usage error')
  t.match(both.stderr, /--reveal is not for --admin/)

  // Documented errors: refused locally (exit 64) before any API call, or by the workspace (exit 1).
  t.equal(local.code, 64)
  t.match(local.stderr, /^routegate: endpoint name 'fraud\.model': 1-63 letters, digits, dashes and underscores, starting with a letter or digit\n/)
  t.equal(noVersion.code, 64)
  t.match(noVersion.stderr, /--model needs --version N/)
  t.equal(taken.code, 1)
  t.equal(taken.stderr, "routegate: RESOURCE_ALREADY_EXISTS: Endpoint with name 'fraud-model' already exists.\n")
  t.equal(plain.code, 0)
  t.equal(plain.stdout, '', 'no snippet: the gateway cannot serve it')
  t.match(plain.stderr, /not route optimized: routegate cannot serve it/)
  // An update cannot turn route optimization on.
  const refused = await client.updateConfig('plain-model', { served_entities: [{ entity_name: 'main.default.fraud_model', entity_version: '2', workload_type: 'CPU', workload_size: 'Small', scale_to_zero_enabled: false }], route_optimized: true }).catch((e: Error) => e)
  t.match(refused, { errorCode: 'INVALID_PARAMETER_VALUE', message: /^INVALID_PARAMETER_VALUE: route_optimized can only be set when an endpoint is created/ })
  const deleted = await routegate('endpoints', 'delete', 'plain-model', '--json')
  t.same([deleted.code, JSON.parse(deleted.stdout)], [0, { deleted: 'plain-model' }])
  const gone = await routegate('endpoints', 'get', 'plain-model')
  t.equal(gone.code, 1)
  t.match(gone.stderr, /^routegate: RESOURCE_DOES_NOT_EXIST: /)

  const pid = Number(readFileSync(join(dir, 'routegate.pid'), 'utf8'))
  process.kill(pid, 'SIGTERM')
  // A bound for a gateway that ignores SIGTERM, generous for a loaded machine.
  for (const end = Date.now() + 60_000; Date.now() < end;) {
    try {
      process.kill(pid, 0)
    } catch {
      break
    }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  t.throws(() => process.kill(pid, 0), 'the gateway stopped on SIGTERM')
})

t.test('docs/walkthrough.md shows the walkthrough script verbatim', async t => {
  const doc = readFileSync(fileURLToPath(new URL('../../docs/walkthrough.md', import.meta.url)), 'utf8')
  t.ok(doc.includes('```sh\n' + readFileSync(SCRIPT, 'utf8') + '```\n'))
})
