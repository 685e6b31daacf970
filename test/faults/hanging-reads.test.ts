// Files whose read would hang (real FIFOs from mkfifo, no writer): a federation subject token
// file, a ${file:} client secret. Neither may freeze a request, /readyz or start-up. And a SIGHUP
// sent the moment the gateway is spawned (before its handler could exist) is not fatal.
// Bounds are generous and documented: a cold start of the built binary on a loaded 2-core machine.
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { request } from 'undici'
import { startEmulator } from '@routegate/databricks-emulator'
import { sha256Hex } from '../../src/callers/keys.js'
import { freePort, sleep, startStack } from '../helpers/stack.js'

const CLI = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'routegate-hanging-'))
const fifo = (name: string): string => {
  const p = join(dir, name)
  execFileSync('mkfifo', [p])
  return p
}

t.test('a subject token file that is a FIFO: 503 TOKEN_UNAVAILABLE within fetchTimeoutMs; /readyz answers', async t => {
  const file = fifo('subject-token')
  const s = await startStack(t, {
    config: (doc) => {
      doc.tokens.fetchTimeoutMs = 3000
      for (const w of doc.workspaces) {
        delete w.clientSecret
        delete w.clientId
        w.grant = 'federation'
        w.subjectTokenFile = file
      }
    }
  })
  const started = Date.now()
  const r = await s.invoke('fraud-model')
  const took = Date.now() - started
  t.equal(r.status, 503)
  t.equal(r.json().error_code, 'TOKEN_UNAVAILABLE')
  t.match(r.json().message, /\(invalid_client\)$/, 'our side: the file cannot be read')
  // fetchTimeoutMs (3 s) plus 2 s of slack; the read is in fact refused at once (not a regular file).
  t.ok(took < 5000, `answered in ${took} ms, within fetchTimeoutMs`)
  const readyz = await request(`${s.adminUrl}/readyz`, { headersTimeout: 5000 })
  t.equal(readyz.statusCode, 503, '/readyz answers: not ready')
  t.match(await readyz.body.text(), /fraud-model/)
  const healthz = await request(`${s.adminUrl}/healthz`, { headersTimeout: 5000 })
  t.equal(healthz.statusCode, 200)
  await healthz.body.dump()
})

t.test('a ${file:} secret that is a FIFO fails start-up with a clear error, promptly', async t => {
  const secret = fifo('client-secret')
  const [port, adminPort] = [await freePort(), await freePort()]
  const config = join(dir, 'fifo-secret.json')
  writeFileSync(config, JSON.stringify({
    server: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort },
    workspaces: [{ name: 'w', host: 'http://127.0.0.1:9', clientId: 'sp', clientSecret: `\${file:${secret}}` }],
    endpoints: [{ name: 'e', workspace: 'w', url: 'http://127.0.0.1:9/x', endpointId: 'e1' }],
    callers: [{ name: 'c', keySha256: sha256Hex('rgk_hanging_reads_caller_key_0123456789'), endpoints: ['*'] }]
  }))
  const child = spawn(process.execPath, [CLI, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] })
  // Were the read blocking, the child would hang here: the kill turns that into a failed test.
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const [code] = await once(child, 'exit')
  clearTimeout(timer)
  t.equal(code, 1, 'exits with an error, not hung')
  t.match(stderr, /workspaces\[0\]\.clientSecret: cannot read file .*client-secret \(ENOTREG: not a regular file; a FIFO or device could block the read\)/)
})

t.test('SIGHUP sent right after spawn is held and applied after start-up, not fatal', async t => {
  const emu = await startEmulator({ endpoints: [{ name: 'fraud-model' }] })
  t.teardown(() => emu.close())
  const p = emu.principals[0]
  const [port, adminPort] = [await freePort(), await freePort()]
  const config = join(dir, 'early-hup.json')
  writeFileSync(config, JSON.stringify({
    server: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort },
    workspaces: [{ name: 'emu', host: emu.url, clientId: p?.clientId, clientSecret: p?.clientSecret }],
    endpoints: [{ name: 'fraud-model', workspace: 'emu', url: emu.endpointUrl('fraud-model'), endpointId: emu.endpoints['fraud-model']?.id }],
    callers: [{ name: 'c', keySha256: sha256Hex('rgk_hanging_reads_caller_key_0123456789'), endpoints: ['*'] }]
  }))
  // Without the test runner's preloads (its spawn hook puts them in NODE_OPTIONS): one of them
  // catches SIGHUP itself, which would show a handler below before the gateway's own code runs.
  // `env` execs node in place, so child.pid is the gateway's.
  const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, CLI, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let logs = ''
  child.stdout.on('data', (d: Buffer) => { logs += d.toString() })
  child.stderr.on('data', (d: Buffer) => { logs += d.toString() })
  // As early as a process can survive it: Node resets every signal to its default while it boots,
  // so no program can catch a SIGHUP before its first module runs. The moment the kernel shows
  // a SIGHUP handler (SigCgt bit 1 in /proc/PID/status) the signal goes, long before the gateway
  // has loaded its modules, read its config or listened.
  await once(child, 'spawn')
  const caught = (): boolean => {
    try {
      const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${String(child.pid)}/status`, 'utf8'))
      return m !== null && (BigInt(`0x${m[1] ?? '0'}`) & 1n) === 1n
    } catch {
      return false
    }
  }
  // Bounded: 30 s of polling, for a cold start on a loaded machine.
  const since = Date.now()
  while (!caught() && child.exitCode === null && Date.now() - since < 30_000) await new Promise(resolve => setImmediate(resolve))
  t.ok(caught(), `the gateway holds SIGHUP ${Date.now() - since} ms after spawn`)
  const listening = await request(`http://127.0.0.1:${adminPort}/healthz`).then(r => r.body.dump().then(() => true), () => false)
  t.equal(listening, false, 'the signal is sent before the gateway listens (during start-up)')
  child.kill('SIGHUP')
  let ready = false
  for (let i = 0; i < 300 && !ready && child.exitCode === null; i++) {
    ready = await request(`http://127.0.0.1:${adminPort}/readyz`).then(r => r.body.dump().then(() => r.statusCode === 200), () => false)
    if (!ready) await sleep(50)
  }
  t.same([child.exitCode, child.signalCode], [null, null], `not killed by the signal: ${logs.slice(-500)}`)
  t.ok(ready, 'the gateway started')
  // The log lines travel through a pipe, apart from the HTTP answer: wait for them (bounded).
  for (let i = 0; i < 200 && !/config reloaded/.test(logs); i++) await sleep(25)
  // Held by the early handler, or (on a start fast enough that the gateway's own handler was in
  // place before the signal landed, as seen on Node 24) taken by it: either way applied once.
  t.match(logs, /config reloaded/)
  t.equal(logs.match(/config reloaded/g)?.length, 1, 'the reload is applied once')
  if (!/applying a SIGHUP received during start-up/.test(logs)) t.comment('the gateway\'s own handler took the signal')
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM')
    const [code] = await once(child, 'exit')
    t.equal(code, 0)
  }
})
