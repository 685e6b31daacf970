// SIGHUP reload on the binary, under traffic: an added endpoint, a removed caller, a changed key,
// then a broken file. No request of the unchanged caller fails; no token is minted again for
// the unchanged endpoint.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { request } from 'undici'
import { sha256Hex } from '../../src/callers/keys.js'
import { startEmulator } from '@routegate/databricks-emulator'
import { freePort, sleep } from '../helpers/stack.js'

const CLI = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url))
const KEYS = { steady: 'rgk_reload_steady_key_0123456789abcdef', leaving: 'rgk_reload_leaving_key_0123456789abcd', old: 'rgk_reload_old_key_0123456789abcdef01', rotated: 'rgk_reload_rotated_key_0123456789abcde' }

t.test('SIGHUP swaps the config in under traffic; a broken file leaves the running one serving', async t => {
  const emu = await startEmulator({ endpoints: [{ name: 'fraud-model' }, { name: 'feed-ads' }] })
  t.teardown(() => emu.close())
  const p = emu.principals[0]
  const [port, adminPort] = [await freePort(), await freePort()]
  const dir = mkdtempSync(join(tmpdir(), 'routegate-reload-'))
  const file = join(dir, 'config.json')
  const endpoint = (name: string) => ({ name, workspace: 'emu', url: emu.endpointUrl(name), endpointId: emu.endpoints[name]?.id })
  const doc = (o: { endpoints: string[], leaving: boolean, rotatorKey: string }) => JSON.stringify({
    server: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort },
    log: { level: 'warn' },
    workspaces: [{ name: 'emu', host: emu.url, clientId: p?.clientId, clientSecret: p?.clientSecret }],
    endpoints: o.endpoints.map(endpoint),
    callers: [
      { name: 'steady', keySha256: sha256Hex(KEYS.steady), endpoints: ['*'] },
      ...(o.leaving ? [{ name: 'leaving', keySha256: sha256Hex(KEYS.leaving), endpoints: ['*'] }] : []),
      { name: 'rotator', keySha256: sha256Hex(o.rotatorKey), endpoints: ['*'] }
    ]
  })
  writeFileSync(file, doc({ endpoints: ['fraud-model'], leaving: true, rotatorKey: KEYS.old }))
  const child = spawn(process.execPath, [CLI, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let logs = ''
  child.stdout.on('data', (d: Buffer) => { logs += d.toString() })
  child.stderr.on('data', (d: Buffer) => { logs += d.toString() })
  t.teardown(() => { if (t.passing() === false) t.comment(logs.slice(-3000)) })
  const gw = `http://127.0.0.1:${port}`
  const call = async (name: string, key: string): Promise<number> => {
    const r = await request(`${gw}/serving-endpoints/${name}/invocations`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{"inputs":[1]}' })
    await r.body.dump()
    return r.statusCode
  }
  // Start-up bound: 300 polls (15 s and more), generous for a cold start on a loaded machine.
  for (let i = 0; i < 300; i++) {
    if (await request(`http://127.0.0.1:${adminPort}/readyz`).then(r => r.body.dump().then(() => r.statusCode === 200), () => false)) break
    await sleep(50)
  }
  t.equal(await call('fraud-model', KEYS.steady), 200)
  const mintsBefore = emu.mintsFor('fraud-model')

  // Traffic from the unchanged caller on the unchanged endpoint, all through the reloads.
  const statuses: number[] = []
  const load = { running: true }
  const traffic = Promise.all(Array.from({ length: 4 }, async () => {
    while (load.running) {
      statuses.push(await call('fraud-model', KEYS.steady).catch(() => 0))
      await sleep(10)
    }
  }))
  const until = async (probe: () => Promise<number>, want: number): Promise<boolean> => {
    for (let i = 0; i < 100; i++) {
      if (await probe() === want) return true
      await sleep(30)
    }
    return false
  }

  writeFileSync(file, doc({ endpoints: ['fraud-model', 'feed-ads'], leaving: true, rotatorKey: KEYS.old }))
  child.kill('SIGHUP')
  t.ok(await until(async () => await call('feed-ads', KEYS.steady), 200), 'an added endpoint is served')

  writeFileSync(file, doc({ endpoints: ['fraud-model', 'feed-ads'], leaving: false, rotatorKey: KEYS.old }))
  child.kill('SIGHUP')
  t.ok(await until(async () => await call('fraud-model', KEYS.leaving), 401), 'a removed caller is refused')

  writeFileSync(file, doc({ endpoints: ['fraud-model', 'feed-ads'], leaving: false, rotatorKey: KEYS.rotated }))
  child.kill('SIGHUP')
  t.ok(await until(async () => await call('fraud-model', KEYS.rotated), 200), 'the new key works')
  t.equal(await call('fraud-model', KEYS.old), 401, 'the old key no longer does')

  writeFileSync(file, '{ "workspaces": [ broken')
  child.kill('SIGHUP')
  await sleep(300)
  t.equal(await call('fraud-model', KEYS.rotated), 200, 'a broken file changes nothing')
  t.equal(await call('feed-ads', KEYS.steady), 200)

  load.running = false
  await traffic
  t.ok(statuses.length > 20, `${statuses.length} requests during the reloads`)
  t.same([...new Set(statuses)], [200], 'not one failed')
  t.equal(emu.mintsFor('fraud-model'), mintsBefore, 'no token minted again for the unchanged endpoint')
  const metrics = await (await request(`http://127.0.0.1:${adminPort}/metrics`)).body.text()
  t.match(metrics, /routegate_config_reloads_total\{result="success"\} 3/)
  t.match(metrics, /routegate_config_reloads_total\{result="failure"\} 1/)
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0)
})
