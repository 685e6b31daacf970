import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Agent, request } from 'undici'
import { startEmulator } from '../src/index.js'
import { basic } from './helpers/client.js'

t.test('tls: an HTTPS listener with a generated CA, serving the same emulator with https URLs', async t => {
  const dir = join(mkdtempSync(join(tmpdir(), 'emu-tls-')), 'tls')
  const emu = await startEmulator({ seed: 'tls', tls: { dir } })
  t.teardown(() => emu.close())
  t.ok(emu.tls)
  const tls = emu.tls!
  t.match(tls.url, /^https:\/\/127\.0\.0\.1:\d+$/)
  t.equal(tls.caPath, join(dir, 'ca.pem'))
  for (const f of [tls.caPath, tls.certPath, tls.keyPath]) t.ok(existsSync(f), f)
  t.equal(statSync(tls.keyPath).mode & 0o777, 0o600, 'the key is private')
  t.equal(readFileSync(tls.caPath, 'utf8'), tls.ca)

  const trusting = new Agent({ connect: { ca: tls.ca } })
  t.teardown(() => trusting.close())
  for (const origin of [tls.url, tls.url.replace('127.0.0.1', 'localhost')]) {
    const res = await request(`${origin}/.well-known/databricks-config`, { dispatcher: trusting })
    t.equal(res.statusCode, 200, origin)
    t.same(await res.body.json(), { oidc_endpoint: `${origin}/oidc`, workspace_id: emu.workspaceId, cloud: 'AWS' }, 'documents point back over https')
  }

  const p = emu.principals[0]!
  const token = await request(`${tls.url}/oidc/v1/token`, {
    dispatcher: trusting,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(p.clientId, p.clientSecret) },
    body: 'grant_type=client_credentials&scope=all-apis'
  })
  const { access_token: accessToken } = await token.body.json() as { access_token: string }
  const described = await request(`${tls.url}/api/2.0/serving-endpoints/fraud-model`, { dispatcher: trusting, headers: { authorization: `Bearer ${accessToken}` } })
  const body = await described.body.json() as { data_plane_info: { query_info: { endpoint_url: string } } }
  t.equal(body.data_plane_info.query_info.endpoint_url, `${tls.url}/${emu.workspaceId}/serving-endpoints/fraud-model/invocations`)

  const plain = new Agent()
  t.teardown(() => plain.close())
  await t.rejects(request(`${tls.url}/.well-known/databricks-config`, { dispatcher: plain }), { code: /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/ }, 'untrusted without the CA')
  t.equal((await request(`${emu.url}/.well-known/databricks-config`)).statusCode, 200, 'plain HTTP still served')
})

t.test('the CA is kept in its directory and reused by the next start; close() ends the HTTPS listener', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'emu-tls-'))
  const first = await startEmulator({ tls: { dir } })
  const ca = first.tls!.ca
  const trusting = new Agent({ connect: { ca } })
  t.teardown(() => trusting.close())
  t.equal((await request(`${first.tls!.url}/.well-known/databricks-config`, { dispatcher: trusting })).statusCode, 200)
  await first.close()
  await t.rejects(request(`${first.tls!.url}/.well-known/databricks-config`, { dispatcher: new Agent({ connect: { ca } }) }), { code: 'ECONNREFUSED' })
  const second = await startEmulator({ tls: { dir, port: 0 } })
  t.teardown(() => second.close())
  t.equal(second.tls!.ca, ca, 'the same CA: clients that trust it keep working')
})
