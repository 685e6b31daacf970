// The binary as operators run it: usage errors, start-up failures, and the SIGTERM drain.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { Agent, Pool, request } from 'undici'
import { sha256Hex } from '../../src/callers/keys.js'
import { startEmulator } from '@routegate/databricks-emulator'
import { CALLER_KEY, freePort, sleep } from '../helpers/stack.js'

const CLI = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url))
// A bound for a hung binary, not a slow machine: a start-up takes about 0.2 s on a quiet
// 2-core machine and has taken over 15 s with two suites running beside it.
const SPAWN_TIMEOUT_MS = 60_000
const NPM_START = fileURLToPath(new URL('../../dist/cli/npm-start.js', import.meta.url))

function run (script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number, stderr: string }> {
  return new Promise(resolve => {
    execFile(process.execPath, [script, ...args], { env: { ...process.env, ROUTEGATE_CONFIG: '', ...env }, timeout: SPAWN_TIMEOUT_MS }, (err, _stdout, stderr) => {
      resolve({ code: err === null ? 0 : Number((err as { code?: number }).code), stderr })
    })
  })
}

t.test('the binary never starts the demo by itself: no config is a usage error (64)', async t => {
  const cases = [
    ['no command, no config', [], {}],
    ['serve without config', ['serve'], {}],
    ['an empty ROUTEGATE_CONFIG', [], { ROUTEGATE_CONFIG: '' }],
    ['--port with --config', ['--config', '/etc/routegate.yaml', '--port', '9000'], {}],
    ['--host with --config', ['--config', '/etc/routegate.yaml', '--host', '127.0.0.1'], {}],
    ['-p with ROUTEGATE_CONFIG', ['-p', '9000'], { ROUTEGATE_CONFIG: '/etc/routegate.yaml' }],
    ['--host with serve --config', ['serve', '-c', '/etc/routegate.yaml', '--host', '::1'], {}],
    ['--port with check-config', ['check-config', '--config', '/etc/routegate.yaml', '--port', '9000'], {}]
  ] as Array<[string, string[], Record<string, string>]>
  // Independent processes: started together, they cost one start-up's wait, not eight.
  const runs = await Promise.all(cases.map(async ([, args, env]) => await run(CLI, args, env)))
  for (const [i, [name]] of cases.entries()) {
    const r = runs[i] as { code: number, stderr: string }
    t.equal(r.code, 64, name)
    t.match(r.stderr, /^routegate: /, `${name}: says why`)
    if (/^(--port|--host|-p) with /.test(name)) {
      t.match(r.stderr, /^routegate: --port and --host are for demo and emulator; with --config, set server\.port and server\.host in the file\n/, `${name}: before reading the config`)
    }
  }
})

t.test('start-up failures exit non-zero with one line: a bad config (1), a demo port already taken (1)', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'routegate-cli-'))
  writeFileSync(join(dir, 'bad.yaml'), 'workspaces: []\n')
  const bad = await run(CLI, ['--config', join(dir, 'bad.yaml')])
  t.equal(bad.code, 1)
  t.equal(bad.stderr.trim().split('\n').length, 1, 'one line')
  const taken: Server = createServer()
  await new Promise<void>(resolve => taken.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { taken.close() })
  const port = (taken.address() as { port: number }).port
  const busy = await run(CLI, ['demo', '--port', String(port)])
  t.equal(busy.code, 1, 'exits rather than running half-started')
  t.match(busy.stderr, /EADDRINUSE/)
  t.equal(busy.stderr.trim().split('\n').length, 1, 'one line')
})

t.test('npm start (npm-start.js) with no config still runs the demo', async t => {
  const child = spawn(process.execPath, [NPM_START, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ROUTEGATE_CONFIG: '' } })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  for (const end = Date.now() + WAIT_MS; !out.includes('curl ') && Date.now() < end;) await sleep(50)
  t.match(out, /caller key: rgk_/)
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0)
})

/**
 * How long a poll waits for a child process to get somewhere: generous, for a loaded 2-core
 * machine running two suites; each poll returns as soon as its condition holds.
 */
const WAIT_MS = 60_000

/** Sum of routegate_inflight_requests over its endpoints, from the admin listener. */
async function inflight (adminUrl: string): Promise<number> {
  const text = await request(`${adminUrl}/metrics`).then(async r => await r.body.text(), () => '')
  return [...text.matchAll(/^routegate_inflight_requests\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0)
}

async function waitReady (adminUrl: string, child: ChildProcess): Promise<void> {
  for (const end = Date.now() + WAIT_MS; Date.now() < end;) {
    if (child.exitCode !== null) throw new Error('gateway exited')
    const status = await request(`${adminUrl}/readyz`).then(r => r.body.dump().then(() => r.statusCode), () => 0)
    if (status === 200) return
    await sleep(50)
  }
  throw new Error('not ready')
}

t.test('SIGTERM drains: readiness 503 at once, in-flight requests and a stream finish, idle connections close, exit 0 right after', async t => {
  const emu = await startEmulator({ endpoints: [{ name: 'slow' }, { name: 'chat' }], streamIntervalMs: 150 })
  t.teardown(() => emu.close())
  // In flight for 3 s: the drain's readiness answer must come while they still are.
  emu.faults.dataPlane({ endpoint: 'slow', latencyMs: 3000 })
  const principal = emu.principals[0]
  const [port, adminPort] = [await freePort(), await freePort()]
  const dir = mkdtempSync(join(tmpdir(), 'routegate-drain-'))
  const config = join(dir, 'config.json')
  writeFileSync(config, JSON.stringify({
    server: { host: '127.0.0.1', port, shutdownGraceMs: 60_000 },
    admin: { host: '127.0.0.1', port: adminPort },
    log: { level: 'warn' },
    workspaces: [{ name: 'emu', host: emu.url, clientId: principal?.clientId, clientSecret: principal?.clientSecret }],
    endpoints: Object.values(emu.endpoints).map(e => ({ name: e.name, workspace: 'emu', url: emu.endpointUrl(e.name), endpointId: e.id })),
    callers: [{ name: 'c', keySha256: sha256Hex(CALLER_KEY), endpoints: ['*'] }]
  }))
  const child = spawn(process.execPath, [CLI, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  child.stdout.resume()
  const gw = `http://127.0.0.1:${port}`
  const admin = `http://127.0.0.1:${adminPort}`
  await waitReady(admin, child)

  // Idle keep-alive connections: a pool that made requests and now holds its sockets open.
  const idle = new Pool(gw, { connections: 4, keepAliveTimeout: 60_000 })
  t.teardown(() => idle.destroy())
  await Promise.all(Array.from({ length: 4 }, async () => {
    const r = await idle.request({ method: 'POST', path: '/serving-endpoints/chat/invocations', headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json' }, body: '{"messages":[{"role":"user","content":"x"}]}' })
    await r.body.dump()
  }))
  t.ok(idle.stats.connected > 0, 'idle keep-alive connections open')

  const agent = new Agent({ connections: 64 })
  t.teardown(() => agent.destroy())
  const post = (path: string, body: string) => request(`${gw}${path}`, { method: 'POST', dispatcher: agent, headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json' }, body })
  const slow = Array.from({ length: 20 }, () => post('/serving-endpoints/slow/invocations', '{"inputs":[1]}').then(async r => ({ status: r.statusCode, body: await r.body.text(), at: Date.now() })))
  const stream = post('/serving-endpoints/chat/invocations', '{"messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":8}')
    .then(async r => ({ status: r.statusCode, body: await r.body.text(), at: Date.now() }))
  for (const end = Date.now() + WAIT_MS; await inflight(admin) < 21 && Date.now() < end;) await sleep(20)
  t.equal(await inflight(admin), 21, 'all 21 in flight')

  child.kill('SIGTERM')
  // The signal arrives when it arrives: poll readiness until it changes (its last answer is checked).
  let readyz = await request(`${admin}/readyz`)
  for (const end = Date.now() + WAIT_MS; readyz.statusCode === 200 && Date.now() < end;) {
    await readyz.body.dump()
    await sleep(10)
    readyz = await request(`${admin}/readyz`)
  }
  const drainingAt = Date.now()
  t.equal(readyz.statusCode, 503, 'readiness 503 once the signal arrived')
  t.match(await readyz.body.json(), { status: 'draining' })
  const refused = await request(`${gw}/serving-endpoints/chat/invocations`, { method: 'POST', body: '{}', dispatcher: new Agent() }).then(() => 'accepted', (e: { code?: string }) => e.code ?? 'error')
  t.not(refused, 'accepted', `new connections are refused (${refused})`)
  t.equal(idle.stats.connected, 0, 'idle keep-alive connections were closed')

  const done = await Promise.all(slow)
  const streamed = await stream
  t.same(done.map(d => d.status), Array(20).fill(200), 'every in-flight request completed')
  t.ok(done.every(d => d.at >= drainingAt), 'readiness said draining while they were still in flight')
  t.equal(streamed.status, 200)
  t.match(streamed.body, /data: \[DONE\]/, 'the stream ran to its end')
  const last = Math.max(...done.map(d => d.at), streamed.at)
  const [code] = await once(child, 'exit')
  t.equal(code, 0, 'exit 0')
  // Right after the last response, not at the end of the 60 s grace: the gap is about a
  // millisecond on a quiet machine; 20 s leaves room for a starved one and still tells the two apart.
  t.ok(Date.now() - last < 20_000, `exited ${Date.now() - last} ms after the last response`)
})

t.test('a build without the emulator (the production image) serves with a config; demo says why it cannot run', async t => {
  const { cpSync, rmSync } = await import('node:fs')
  const root = fileURLToPath(new URL('../../', import.meta.url))
  // Inside the checkout, so node_modules and package.json ("type": "module") are found as in the image.
  const prod = mkdtempSync(join(root, 'tmp-prod-'))
  t.teardown(() => { rmSync(prod, { recursive: true, force: true }) })
  cpSync(join(root, 'dist'), join(prod, 'dist'), { recursive: true })
  for (const f of ['demo.js', 'emulator.js']) rmSync(join(prod, 'dist', 'cli', 'commands', f))
  const bin = join(prod, 'dist', 'cli', 'index.js')
  const demo = await run(bin, ['demo', '--port', '0'])
  t.equal(demo.code, 1)
  t.match(demo.stderr, /no Databricks emulator/)
  const check = await run(bin, ['check-config', '--config', join(prod, 'missing.yaml')])
  t.equal(check.code, 1, 'the gateway commands load without it')
  t.match(check.stderr, /cannot read config file/)
})
