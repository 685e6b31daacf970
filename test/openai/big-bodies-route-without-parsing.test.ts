// OpenAI-route bodies of hostile shapes do not stall other callers or blow up the gateway: one
// caller sends, for a known, an unknown and a forbidden model in turn, a body near the 4 MiB
// pre-routing limit, one at the limit made of a million tiny containers, one nested two million
// levels deep, and 15 MiB of tiny containers (declared and chunked: refused 413, the declared one
// before a byte is read). Meanwhile another caller's small requests are timed against the same
// requests timed before, and the gateway process's RSS is sampled.
//
// The bodies are built and sent by a helper process (helpers/send-hostile-bodies.mjs), so this
// process only times the small requests and plays the endpoint.
//
// Bounds (generous, for a loaded CI machine): no small request takes more than 250 ms longer than
// the slowest of 100 of the same requests on an idle gateway (a round over it is run once more) (JSON.parse of one such body held the
// event loop 2.6-4 s), and the gateway's RSS stays under 100 MiB above its idle level (it peaked
// at 437 MB for one body). The gateway runs in its own process, so the test's own buffers do not
// count, with a young-generation collection every 25 ms (test/openai/helpers/gc-often.cjs), so
// the RSS shows what it holds rather than garbage awaiting collection.
import t from 'tap'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { startEmulator } from '@routegate/databricks-emulator'
import { sha256Hex } from '../../src/callers/keys.js'
import { CALLER_KEY, OTHER_KEY, freePort, sleep } from '../helpers/stack.js'

const CLI = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url))
const GC_OFTEN = fileURLToPath(new URL('./helpers/gc-often.cjs', import.meta.url))
const SENDER = fileURLToPath(new URL('./helpers/send-hostile-bodies.mjs', import.meta.url))
const LIMIT = 4 * 1024 * 1024 // server.openaiBodyLimitBytes' default
const MiB = 1024 * 1024
const SLACK_MS = 250
const RSS_BOUND = 100 * MiB

/** Resident set size of a process, in bytes (Linux). */
function rss (pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024
  } catch {
    return 0 // the process has gone: the test fails on its requests, not in a timer
  }
}

/** Runs the sender helper: `sending` resolves when its bodies go out, `result` with its answers. */
function sendHostile (gateway: string, model: string, warmUp = false): { sending: Promise<void>, result: Promise<any> } {
  const child = spawn(process.execPath, [SENDER, gateway, OTHER_KEY, model, String(LIMIT), ...(warmUp ? ['warm-up'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  let signal: () => void = () => {}
  const sending = new Promise<void>(resolve => { signal = resolve })
  const result = new Promise<any>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.startsWith('sending\n')) signal()
    })
    child.on('close', (code) => {
      signal()
      const last = out.trim().split('\n').pop() ?? ''
      if (code === 0) resolve(JSON.parse(last))
      else reject(new Error(`the sender exited with ${String(code)}`))
    })
  })
  return { sending, result }
}

t.test('hostile OpenAI bodies neither stall another caller nor grow the gateway', { skip: process.platform !== 'linux' ? 'reads /proc' : false }, async t => {
  const emu = await startEmulator({ endpoints: [{ name: 'fraud-model' }, { name: 'feed-ads' }] })
  t.teardown(() => emu.close())
  // A bare upstream that hashes what it gets as it arrives (the emulator would parse the bodies;
  // keeping them would make this process, which times requests, collect tens of MiB).
  const received: string[] = []
  const upstream = createServer((req, res) => {
    const hash = createHash('sha256')
    req.on('data', (c: Buffer) => hash.update(c))
    req.on('end', () => {
      received.push(hash.digest('hex'))
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}]}')
    })
  })
  await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { upstream.closeAllConnections(); upstream.close() })
  const upstreamPort = (upstream.address() as AddressInfo).port

  const [port, adminPort] = [await freePort(), await freePort()]
  const dir = mkdtempSync(join(tmpdir(), 'routegate-openai-big-'))
  const file = join(dir, 'config.json')
  const p = emu.principals[0]
  writeFileSync(file, JSON.stringify({
    server: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort },
    log: { level: 'warn' },
    workspaces: [{ name: 'emu', host: emu.url, clientId: p?.clientId, clientSecret: p?.clientSecret }],
    endpoints: ['fraud-model', 'feed-ads'].map(name => ({
      name, workspace: 'emu', endpointId: emu.endpoints[name]?.id, url: `http://127.0.0.1:${upstreamPort}/1/serving-endpoints/${name}/invocations`
    })),
    callers: [
      { name: 'checkout', keySha256: sha256Hex(CALLER_KEY), endpoints: ['*'] },
      { name: 'reports', keySha256: sha256Hex(OTHER_KEY), endpoints: ['feed-ads'] }
    ]
  }))
  const child = spawn(process.execPath, ['--expose-gc', '--require', GC_OFTEN, CLI, '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  let ready = false
  for (let i = 0; i < 300 && !ready && child.exitCode === null; i++) {
    ready = await request(`http://127.0.0.1:${adminPort}/readyz`).then(r => r.body.dump().then(() => r.statusCode === 200), () => false)
    if (!ready) await sleep(50)
  }
  if (!t.ok(ready, 'the gateway is ready')) {
    t.comment(stderr.slice(-2000))
    return
  }
  const gateway = `http://127.0.0.1:${port}`

  // The other caller: small chat requests, one at a time.
  const SMALL = JSON.stringify({ model: 'fraud-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 })
  const smallStatuses: number[] = []
  async function small (): Promise<number> {
    const t0 = performance.now()
    const res = await request(`${gateway}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json' }, body: SMALL
    })
    await res.body.dump()
    smallStatuses.push(res.statusCode)
    return performance.now() - t0
  }
  // Warm up: pools, tokens, and the gateway's compiled code for every shape (a first body runs
  // interpreted until V8 optimizes the scanner).
  for (let i = 0; i < 10; i++) await small()
  await sendHostile(gateway, 'feed-ads', true).result
  // As many as a round under load takes, so both see the machine's own hiccups alike.
  const baseline: number[] = []
  for (let i = 0; i < 100; i++) baseline.push(await small())
  const slowestIdle = Math.max(...baseline)
  await sleep(200)
  const idle = rss(child.pid as number)

  const cases = [
    { model: 'feed-ads', label: 'a known model', status: 200, code: undefined },
    { model: 'no-such-endpoint', label: 'an unknown model', status: 404, code: 'ENDPOINT_NOT_FOUND' },
    { model: 'fraud-model', label: 'a model the caller may not use', status: 403, code: 'PERMISSION_DENIED' }
  ]
  let peak = idle
  /** One round of hostile bodies for `model`, with the other caller timed meanwhile. */
  async function round (model: string): Promise<{ underLoad: number[], answers: any, hashes: string[] }> {
    const sampler = setInterval(() => { peak = Math.max(peak, rss(child.pid as number)) }, 5)
    // A scrape resets the gateway's event-loop lag statistics: the next one covers this round.
    await request(`http://127.0.0.1:${adminPort}/metrics`).then(r => r.body.dump())
    received.length = 0
    const loading = { done: false }
    const sender = sendHostile(gateway, model)
    const load = sender.result.finally(() => { loading.done = true })
    await sender.sending
    const underLoad: number[] = []
    // Small requests from when the bodies go out until every one is answered (at most 5000).
    for (let i = 0; i < 5000 && (!loading.done || underLoad.length < 5); i++) underLoad.push(await small())
    const answers = await load
    clearInterval(sampler)
    const lag = /^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(await request(`http://127.0.0.1:${adminPort}/metrics`).then(r => r.body.text()))?.[1]
    t.comment(`${model}: the gateway's event loop lagged at most ${(Number(lag) * 1000).toFixed(0)} ms (machine load included)`)
    return { underLoad, answers, hashes: [...received] }
  }

  for (const c of cases) {
    // A loaded machine can deschedule either process for a few hundred ms once in a while: a
    // round over the bound is run once more. A gateway that holds its event loop (JSON.parse of
    // such a body held it for seconds) fails both.
    let r = await round(c.model)
    let worst = Math.max(...r.underLoad)
    if (worst > slowestIdle + SLACK_MS) {
      t.comment(`${c.label}: small requests under load, in order (ms): ${r.underLoad.map(ms => ms.toFixed(0)).join(' ')}; once more`)
      r = await round(c.model)
      worst = Math.max(...r.underLoad)
    }
    const { near: rNear, tiny: rTiny, deep: rDeep, declared: rHuge, chunked: rChunked, forwarded } = r.answers
    for (const [name, answer] of [['near the limit', rNear], ['at the limit, tiny containers', rTiny], ['at the limit, deeply nested', rDeep]] as const) {
      t.match(answer, c.code === undefined ? { status: 200 } : { status: c.status, json: { error_code: c.code } }, `${c.label}: the body ${name} is answered ${c.status}`)
    }
    if (c.code === undefined) {
      for (const [name, hash] of [['near the limit', forwarded.near], ['tiny containers', forwarded.tiny], ['deeply nested', forwarded.deep]] as const) {
        t.ok(r.hashes.includes(hash), `${c.label}: the endpoint got the ${name} body byte for byte, less model`)
      }
    }
    t.match(rHuge, { status: 413, json: { error_code: 'PAYLOAD_TOO_LARGE' }, continued: false }, `${c.label}: a declared 15 MiB body is refused before a byte of it is sent`)
    if ('status' in rChunked) t.match(rChunked, { status: 413, json: { error_code: 'PAYLOAD_TOO_LARGE' } }, `${c.label}: a chunked 15 MiB body is cut off at the limit`)
    else t.pass(`${c.label}: a chunked 15 MiB body is cut off at the limit (the client saw the connection close mid-upload)`)
    if (worst > slowestIdle + SLACK_MS) t.comment(`${c.label}: small requests under load, in order (ms): ${r.underLoad.map(ms => ms.toFixed(0)).join(' ')}`)
    t.ok(worst <= slowestIdle + SLACK_MS,
      `${c.label}: ${r.underLoad.length} small requests of another caller took at most ${worst.toFixed(0)} ms (idle: at most ${slowestIdle.toFixed(0)} ms; bound ${SLACK_MS} ms more)`)
  }
  t.same([...new Set(smallStatuses)], [200], 'every small request of the other caller was answered 200 (none shed, none failed)')
  t.ok(peak - idle < RSS_BOUND, `the gateway's RSS peaked ${((peak - idle) / MiB).toFixed(1)} MiB above idle, ${(idle / MiB).toFixed(0)} MiB (bound ${RSS_BOUND / MiB} MiB)`)
})
