// server.watchConfig on the binary, with a config laid out as the kubelet mounts a ConfigMap
// (`..<timestamp>` dirs, `..data` -> one of them, `config.yaml` -> `..data/config.yaml`) and
// updated as the kubelet does it (a new timestamped dir, a new symlink renamed over `..data`),
// under traffic. Bounds: the change is served within 2 s (debounce 200 ms + reload); the
// traffic sees no failure.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { request } from 'undici'
import { sha256Hex } from '../../src/callers/keys.js'
import { startEmulator } from '@routegate/databricks-emulator'
import { freePort, sleep } from '../helpers/stack.js'

const CLI = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url))
const KEYS = { steady: 'rgk_watch_steady_key_0123456789abcdef0', added: 'rgk_watch_added_key_0123456789abcdef01' }

t.test('a ConfigMap-style ..data symlink swap is applied within 2 s with traffic flowing, twice; a broken one keeps the old config', async t => {
  const emu = await startEmulator({ endpoints: [{ name: 'fraud-model' }] })
  t.teardown(() => emu.close())
  const p = emu.principals[0]
  const [port, adminPort] = [await freePort(), await freePort()]
  const mount = mkdtempSync(join(tmpdir(), 'routegate-watch-'))
  const doc = (keys: string[]): string => JSON.stringify({
    server: { host: '127.0.0.1', port, watchConfig: true },
    admin: { host: '127.0.0.1', port: adminPort },
    log: { level: 'info' },
    workspaces: [{ name: 'emu', host: emu.url, clientId: p?.clientId, clientSecret: p?.clientSecret }],
    endpoints: [{ name: 'fraud-model', workspace: 'emu', url: emu.endpointUrl('fraud-model'), endpointId: emu.endpoints['fraud-model']?.id }],
    callers: keys.map((k, i) => ({ name: `c${i}`, keySha256: sha256Hex(k), endpoints: ['*'] }))
  })
  let generation = 0
  // What the kubelet's AtomicWriter does: write a fresh timestamped dir, point a new symlink at
  // it, rename that symlink over ..data (atomic), then drop the old dir.
  const publish = (text: string): void => {
    const ts = `..2026_12_07_00_00_0${generation++}.000000001`
    mkdirSync(join(mount, ts))
    writeFileSync(join(mount, ts, 'config.yaml'), text)
    symlinkSync(ts, join(mount, '..data_tmp'))
    renameSync(join(mount, '..data_tmp'), join(mount, '..data'))
  }
  publish(doc([KEYS.steady]))
  symlinkSync('..data/config.yaml', join(mount, 'config.yaml'))
  const file = join(mount, 'config.yaml')

  const child = spawn(process.execPath, [CLI, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let logs = ''
  child.stdout.on('data', (d: Buffer) => { logs += d.toString() })
  child.stderr.on('data', (d: Buffer) => { logs += d.toString() })
  t.teardown(() => { if (t.passing() === false) t.comment(logs.slice(-3000)) })
  const call = async (key: string): Promise<number> => {
    const r = await request(`http://127.0.0.1:${port}/serving-endpoints/fraud-model/invocations`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{"inputs":[1]}' })
    await r.body.dump()
    return r.statusCode
  }
  // Start-up bound: generous, a cold node start on a loaded machine.
  for (let i = 0; i < 300; i++) {
    if (await request(`http://127.0.0.1:${adminPort}/readyz`).then(r => r.body.dump().then(() => r.statusCode === 200), () => false)) break
    await sleep(50)
  }
  t.equal(await call(KEYS.steady), 200)
  t.equal(await call(KEYS.added), 401, 'the second key is not in the config yet')

  const statuses: number[] = []
  const load = { running: true }
  const traffic = Promise.all(Array.from({ length: 4 }, async () => {
    while (load.running) {
      statuses.push(await call(KEYS.steady).catch(() => 0))
      await sleep(10)
    }
  }))
  const appliedWithin = async (ms: number, probe: () => Promise<boolean>): Promise<number | undefined> => {
    const start = Date.now()
    while (Date.now() - start < ms) {
      if (await probe()) return Date.now() - start
      await sleep(25)
    }
    return undefined
  }

  publish(doc([KEYS.steady, KEYS.added]))
  const first = await appliedWithin(2000, async () => await call(KEYS.added) === 200)
  t.ok(first !== undefined, `the first swap is served within 2 s (${String(first)} ms)`)

  publish(doc([KEYS.steady]))
  const second = await appliedWithin(2000, async () => await call(KEYS.added) === 401)
  t.ok(second !== undefined, `a second swap too: the watch survives the symlink being replaced (${String(second)} ms)`)

  publish('{ "workspaces": [ broken')
  await appliedWithin(2000, async () => /config reload refused/.test(logs))
  t.match(logs, /config reload refused: the running config keeps serving/)
  t.equal(await call(KEYS.steady), 200, 'a broken file changes nothing')
  t.equal(await call(KEYS.added), 401)

  load.running = false
  await traffic
  t.ok(statuses.length > 20, `${statuses.length} requests during the swaps`)
  t.same([...new Set(statuses)], [200], 'not one failed')
  const metrics = await (await request(`http://127.0.0.1:${adminPort}/metrics`)).body.text()
  t.match(metrics, /routegate_config_reloads_total\{result="success"\} 2\n/, 'one reload per swap, not one per event')
  t.match(metrics, /routegate_config_reloads_total\{result="failure"\} 1\n/)
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0)
})
