// The Databricks JS SDK (@databricks/sdk-experimental) against the emulator's HTTPS listener: OAuth M2M, list and get.
import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { startEmulator } from '../src/index.js'

// Runs in a child: NODE_EXTRA_CA_CERTS is read only when a process starts.
const SDK_SCRIPT = `
import { WorkspaceClient } from '@databricks/sdk-experimental'
const w = new WorkspaceClient({ host: process.env.EMU_HOST, clientId: process.env.EMU_CLIENT_ID, clientSecret: process.env.EMU_CLIENT_SECRET, authType: 'oauth-m2m' })
const names = []
for await (const e of w.servingEndpoints.list()) names.push(e.name)
const one = await w.servingEndpoints.get({ name: process.env.EMU_ENDPOINT })
process.stdout.write(JSON.stringify({ names, one }))
`
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url))

function runSdk (env: Record<string, string>): Promise<{ code: number, stdout: string, stderr: string }> {
  const home = mkdtempSync(join(tmpdir(), 'emu-sdk-home-'))
  return new Promise(resolve => {
    execFile(process.execPath, ['--input-type=module', '-e', SDK_SCRIPT], {
      cwd: PACKAGE_DIR,
      timeout: 30_000,
      // Only what the SDK needs: no DATABRICKS_* from the machine, no ~/.databrickscfg.
      env: { PATH: process.env.PATH ?? '', HOME: home, DATABRICKS_CONFIG_FILE: join(home, 'none.cfg'), ...env }
    }, (err, stdout, stderr) => { resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), stdout, stderr }) })
  })
}

t.test('the Databricks JS SDK authenticates with M2M over the TLS listener, lists and gets endpoints', async t => {
  const emu = await startEmulator({ seed: 'sdk-test', tls: { dir: mkdtempSync(join(tmpdir(), 'emu-sdk-tls-')) }, endpoints: [{ name: 'fraud-model' }, { name: 'legacy', routeOptimized: false }] })
  t.teardown(() => emu.close())
  const tls = emu.tls!
  const p = emu.principals[0]!
  const env = { EMU_HOST: tls.url, EMU_CLIENT_ID: p.clientId, EMU_CLIENT_SECRET: p.clientSecret, EMU_ENDPOINT: 'fraud-model' }

  const res = await runSdk({ ...env, NODE_EXTRA_CA_CERTS: tls.caPath })
  t.equal(res.code, 0, res.stderr)
  const out = JSON.parse(res.stdout) as { names: string[], one: Record<string, any> }
  t.same(out.names, ['fraud-model', 'legacy'])
  t.match(out.one, {
    name: 'fraud-model',
    id: emu.endpoints['fraud-model']!.id,
    route_optimized: true,
    state: { ready: 'READY' },
    data_plane_info: { query_info: { endpoint_url: `${tls.url}/${emu.workspaceId}/serving-endpoints/fraud-model/invocations` } }
  })
  const stats = emu.stats()
  t.ok(stats.mints.byGrant.client_credentials >= 1, 'the SDK minted a token with client_credentials')
  t.ok(stats.controlPlaneRequests >= 2, 'and called the control plane with it')

  const untrusted = await runSdk(env)
  t.not(untrusted.code, 0, 'without the CA the SDK refuses the certificate')
  t.match(untrusted.stderr, /unable to verify|self.signed|certificate/i)
})
