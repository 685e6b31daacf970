// Benchmark: latency and throughput through routegate versus straight to the data plane.
// The emulator runs in this process; the gateway runs as a child process (the thing measured).
// Usage: npm run bench [-- --seconds 10 --concurrency 32]
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Pool, request } from 'undici'
import { startEmulator } from '../dist/emulator/index.js'
import { sha256Hex } from '../dist/callers/keys.js'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, concurrency: { type: 'string', default: '32' } } })
const seconds = Number(values.seconds)
const concurrency = Number(values.concurrency)
const body = JSON.stringify({ dataframe_split: { columns: ['a', 'b', 'c'], data: [[1, 2, 3], [4, 5, 6]] } })

const emu = await startEmulator({ endpoints: [{ name: 'fraud-model' }] })
const principal = emu.principals[0]
const callerKey = 'rgk_bench_caller_key'
const dir = mkdtempSync(join(tmpdir(), 'routegate-bench-'))
const configPath = join(dir, 'config.json')
const [gwPort, adminPort] = [await freePort(), await freePort()]
writeFileSync(configPath, JSON.stringify({
  server: { host: '127.0.0.1', port: gwPort },
  admin: { host: '127.0.0.1', port: adminPort },
  log: { level: process.env.BENCH_LOG_LEVEL ?? 'info' },
  workspaces: [{ name: 'bench', host: emu.url, clientId: principal.clientId, clientSecret: principal.clientSecret }],
  endpoints: [{ name: 'fraud-model', workspace: 'bench', url: emu.endpointUrl('fraud-model'), endpointId: emu.endpoints['fraud-model'].id }],
  callers: [{ name: 'bench', keySha256: sha256Hex(callerKey), endpoints: ['*'] }]
}))

// The gateway logs one access line per request, as in production; its stdout is drained here.
const gw = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), 'dist/cli/index.js', '--config', configPath], { stdio: ['ignore', 'pipe', 'inherit'] })
gw.stdout.resume()
const urls = { gateway: `http://127.0.0.1:${gwPort}`, admin: `http://127.0.0.1:${adminPort}` }
for (let i = 0; ; i++) {
  const ok = await request(`${urls.admin}/readyz`).then(r => r.body.dump().then(() => r.statusCode === 200), () => false)
  if (ok) break
  if (i > 100) throw new Error('gateway did not become ready')
  await new Promise(resolve => setTimeout(resolve, 100))
}

// A token for the direct baseline, minted the way the gateway does.
const tokenRes = await request(`${emu.url}/oidc/v1/token`, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${principal.clientId}:${principal.clientSecret}`).toString('base64')}` },
  body: new URLSearchParams({
    grant_type: 'client_credentials',
    scope: 'all-apis',
    authorization_details: JSON.stringify([{ type: 'workspace_permission', object_type: 'serving-endpoints', object_path: `/serving-endpoints/${emu.endpoints['fraud-model'].id}`, actions: ['query_inference_endpoint'] }])
  }).toString()
})
const token = (await tokenRes.body.json()).access_token

async function freePort () {
  const { createServer } = await import('node:net')
  const srv = createServer()
  await new Promise(resolve => srv.listen(0, '127.0.0.1', resolve))
  const { port } = srv.address()
  await new Promise(resolve => srv.close(resolve))
  return port
}

async function load (label, url, auth) {
  const u = new URL(url)
  const pool = new Pool(u.origin, { connections: concurrency })
  const latencies = []
  let errors = 0
  const deadline = performance.now() + seconds * 1000
  async function worker () {
    while (performance.now() < deadline) {
      const t0 = performance.now()
      const res = await pool.request({ method: 'POST', path: u.pathname, headers: { authorization: auth, 'content-type': 'application/json' }, body })
      await res.body.dump()
      if (res.statusCode !== 200) errors++
      latencies.push(performance.now() - t0)
    }
  }
  // Warm-up: connections and the gateway's token.
  for (let i = 0; i < 50; i++) { const r = await pool.request({ method: 'POST', path: u.pathname, headers: { authorization: auth, 'content-type': 'application/json' }, body }); await r.body.dump() }
  await Promise.all(Array.from({ length: concurrency }, worker))
  await pool.close()
  latencies.sort((a, b) => a - b)
  const q = p => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(2)
  const result = { label, requests: latencies.length, rps: Math.round(latencies.length / seconds), errors, p50ms: q(0.5), p90ms: q(0.9), p99ms: q(0.99) }
  console.log(JSON.stringify(result))
  return result
}

const direct = await load('direct to data plane', emu.endpointUrl('fraud-model'), `Bearer ${token}`)
const via = await load('through routegate', `${urls.gateway}/serving-endpoints/fraud-model/invocations`, `Bearer ${callerKey}`)
const metrics = await (await request(`${urls.admin}/metrics`)).body.text()
const overhead = metrics.split('\n').filter(l => l.startsWith('routegate_overhead_seconds_bucket') && l.includes('fraud-model'))
const count = Number(/routegate_overhead_seconds_count\{endpoint="fraud-model"\} (\d+)/.exec(metrics)?.[1] ?? 0)
const bucket = (q) => overhead.map(l => [Number(/le="([^"]+)"/.exec(l)[1]), Number(l.split(' ').pop())]).find(([, c]) => c >= q * count)?.[0]
console.log(JSON.stringify({
  summary: `concurrency ${concurrency}, ${seconds}s each`,
  addedP50ms: (via.p50ms - direct.p50ms).toFixed(2),
  addedP99ms: (via.p99ms - direct.p99ms).toFixed(2),
  gatewayOverheadP50Below_s: bucket(0.5),
  gatewayOverheadP99Below_s: bucket(0.99),
  tokenMints: emu.mintsFor('fraud-model')
}))
gw.kill('SIGTERM')
await once(gw, 'exit')
await emu.close()
