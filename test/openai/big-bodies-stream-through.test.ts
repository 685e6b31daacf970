// 10 MiB up and 10 MiB of event stream down through the gateway binary, checked by hash, while
// the gateway process's RSS is sampled: streaming holds a few chunks at a time, so its RSS must
// not grow by the size of either body. The gateway runs in its own process so the test's own
// buffers (client and upstream) do not count, and collects garbage every 25 ms (a preload), so
// chunk buffers awaiting V8's next collection do not count either.
import t from 'tap'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { startEmulator } from '@routegate/databricks-emulator'
import { sha256Hex } from '../../src/callers/keys.js'
import { CALLER_KEY, freePort, sleep } from '../helpers/stack.js'
import { waitFor } from '../helpers/wait.js'

const CLI = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url))
const GC_OFTEN = fileURLToPath(new URL('./helpers/gc-often.cjs', import.meta.url))
const MB10 = 10 * 1024 * 1024
const EVENT = Buffer.from(`data: ${'z'.repeat(1016)}\n\n`) // 1 KiB

/** Resident set size of a process, in bytes (Linux). */
function rss (pid: number): number {
  let status = ''
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return 0 // the process has gone: the test fails on its requests, not in a timer
  }
  const m = /VmRSS:\s+(\d+) kB/.exec(status)
  return Number(m?.[1] ?? 0) * 1024
}

t.test('10 MiB each way pass intact, and the gateway does not hold them', { skip: process.platform !== 'linux' ? 'reads /proc' : false }, async t => {
  const emu = await startEmulator({ endpoints: [{ name: 'fraud-model' }] })
  t.teardown(() => emu.close())
  let received = ''
  const upstream = createServer((req, res) => {
    const hash = createHash('sha256')
    req.on('data', (c: Buffer) => hash.update(c))
    req.on('end', () => {
      received = hash.digest('hex')
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      let left = MB10 / EVENT.length
      const pump = (): void => {
        while (left > 0) {
          left--
          if (!res.write(EVENT)) { res.once('drain', pump); return }
        }
        res.end()
      }
      pump()
    })
  })
  await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { upstream.closeAllConnections(); upstream.close() })
  const [port, adminPort] = [await freePort(), await freePort()]
  const dir = mkdtempSync(join(tmpdir(), 'routegate-big-'))
  const file = join(dir, 'config.json')
  const p = emu.principals[0]
  writeFileSync(file, JSON.stringify({
    server: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort },
    log: { level: 'warn' },
    workspaces: [{ name: 'emu', host: emu.url, clientId: p?.clientId, clientSecret: p?.clientSecret }],
    endpoints: [{ name: 'fraud-model', workspace: 'emu', endpointId: emu.endpoints['fraud-model']?.id, url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/1/serving-endpoints/fraud-model/invocations` }],
    callers: [{ name: 'checkout', keySha256: sha256Hex(CALLER_KEY), endpoints: ['*'] }]
  }))
  // Collected every 25 ms (a test-only preload): RSS then shows what is held, not GC lag.
  const child = spawn(process.execPath, ['--expose-gc', '--require', GC_OFTEN, CLI, '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  // Ready (or exited): waits up to WAIT_MS, generous for a loaded machine starting the binary.
  const ready = await waitFor(async () => child.exitCode !== null || await request(`http://127.0.0.1:${adminPort}/readyz`).then(r => r.body.dump().then(() => r.statusCode === 200), () => false), { intervalMs: 50 }) && child.exitCode === null
  if (!t.ok(ready, 'the gateway is ready')) {
    t.comment(stderr.slice(-2000))
    return
  }
  const up = Buffer.alloc(MB10, 'q')
  const sent = createHash('sha256').update(up).digest('hex')
  const expected = createHash('sha256').update(Buffer.concat(Array.from({ length: MB10 / EVENT.length }, () => EVENT))).digest('hex')

  async function roundTrip (): Promise<{ got: string, bytes: number, peak: number }> {
    let peak = rss(child.pid as number)
    const sampler = setInterval(() => { peak = Math.max(peak, rss(child.pid as number)) }, 5)
    const res = await request(`http://127.0.0.1:${port}/serving-endpoints/fraud-model/invocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/octet-stream' },
      body: Readable.from((function * () { for (let i = 0; i < up.length; i += 64 * 1024) yield up.subarray(i, i + 64 * 1024) })())
    })
    const hash = createHash('sha256')
    let bytes = 0
    for await (const chunk of res.body) {
      hash.update(chunk)
      bytes += chunk.length
    }
    clearInterval(sampler)
    return { got: hash.digest('hex'), bytes, peak }
  }
  await roundTrip() // warm up: pools, buffers, JIT
  await sleep(200)
  const before = rss(child.pid as number)
  let peak = before
  // Three round trips: 60 MiB through. A gateway that held bodies would grow by 20 MiB a trip;
  // one that streams grows only by what its garbage collector has not yet reclaimed.
  for (let i = 0; i < 3; i++) {
    const r = await roundTrip()
    t.equal(received, sent, `trip ${i + 1}: the upstream got the 10 MiB request byte for byte`)
    t.equal(r.bytes, MB10, `trip ${i + 1}: the caller got all 10 MiB of the stream`)
    t.equal(r.got, expected, `trip ${i + 1}: intact`)
    peak = Math.max(peak, r.peak)
  }
  const growth = peak - before
  t.ok(growth < MB10, `the gateway's RSS peaked ${(growth / 1048576).toFixed(1)} MiB above its level before 60 MiB went through (less than one body)`)
})

const DOWN = 64 * 1024 * 1024

t.test('backpressure both ways: a slow reader holds the upstream back, a slow upstream holds the upload back', async t => {
  const emu = await startEmulator({ endpoints: [{ name: 'fraud-model' }] })
  t.teardown(() => emu.close())
  let written = 0
  let read = 0
  let pauseUpload = false
  const upstream = createServer((req, res) => {
    if (req.headers['x-mode'] === 'slow-upstream') {
      // The gateway's own limit would refuse 64 MiB: this endpoint allows it (see the config).
      pauseUpload = true
      req.pause()
      setTimeout(() => {
        req.on('data', (c: Buffer) => { read += c.length })
        req.on('end', () => res.end('{}'))
        req.resume()
      }, 400)
      return
    }
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      let left = DOWN / EVENT.length
      const pump = (): void => {
        while (left > 0) {
          left--
          written += EVENT.length
          if (!res.write(EVENT)) { res.once('drain', pump); return }
        }
        res.end()
      }
      pump()
    })
  })
  await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { upstream.closeAllConnections(); upstream.close() })
  const { startStack } = await import('../helpers/stack.js')
  const s = await startStack(t, {
    config: (doc) => {
      const e = doc.endpoints.find(e => e.name === 'fraud-model') as Record<string, unknown>
      e.url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/1/serving-endpoints/fraud-model/invocations`
      e.bodyLimitBytes = 128 * 1024 * 1024
    }
  })

  // Down: the caller reads 256 KiB, then stops for 400 ms. Loopback socket buffers (four of
  // them between upstream and caller) can hold several MiB, so the stream is made much longer.
  const res = await request(`${s.gatewayUrl}/serving-endpoints/fraud-model/invocations`, {
    method: 'POST', headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json' }, body: '{}'
  })
  let got = 0
  let inFlight = 0
  for await (const chunk of res.body) {
    got += chunk.length
    if (got >= 256 * 1024 && inFlight === 0) {
      await sleep(400)
      inFlight = written - got
    }
  }
  t.equal(got, DOWN, 'all of the stream arrived in the end')
  t.ok(inFlight < DOWN / 2, `while the caller paused, the upstream could write only ${(inFlight / 1048576).toFixed(1)} MiB ahead of it`)

  // Up: the upstream does not read for 400 ms; the caller's upload waits for it.
  let produced = 0
  let producedWhilePaused = -1
  const UP = 64 * 1024 * 1024
  const upload = Readable.from((async function * () {
    for (let i = 0; i < UP; i += 64 * 1024) {
      if (pauseUpload && producedWhilePaused < 0 && read === 0) {
        await sleep(300)
        producedWhilePaused = produced
      }
      produced += 64 * 1024
      yield Buffer.alloc(64 * 1024, 'u')
    }
  })())
  const up = await request(`${s.gatewayUrl}/serving-endpoints/fraud-model/invocations`, {
    method: 'POST', headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/octet-stream', 'x-mode': 'slow-upstream' }, body: upload
  })
  t.equal(up.statusCode, 200)
  await up.body.dump()
  t.equal(read, UP, 'the upstream read all of the upload in the end')
  t.ok(producedWhilePaused >= 0 && producedWhilePaused < UP / 2, `while the upstream did not read, the caller could send only ${(producedWhilePaused / 1048576).toFixed(1)} MiB`)
})
