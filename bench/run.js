// Benchmark harness (`npm run bench`): the same wrk load, side by side in one run, on
//   direct      nginx upstream, no proxy (the floor for latency)
//   routegate   the gateway with every feature on (caller keys, token broker, metrics, access log)
//   bare        node:http + undici dispatch straight into the response: the fastest correct Node proxy (bench/baselines/bare.js)
//   reply-from  fastify + @fastify/reply-from (bench/baselines/reply-from.js)
//   nginx       nginx proxy_pass with a keep-alive upstream
// plus an HTTPS-upstream variant, scale checks (1,000 endpoints, 10,000 caller keys) and an RSS
// check over 1 M requests. Each proxy is charged the CPU its own processes burnt, from /proc:
// on a 2-core machine shared by wrk, nginx and the proxy, per-core req/s is the stable figure.
// See bench/README.md for how to run it and read it.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Agent, request } from 'undici'
import { freePort, startChild, stopAll, stopChildrenOnExit, waitForPort } from './lib/children.js'
import { startTokenEndpoint } from './lib/emulator.js'
import { nginxBinary, proxyConf, startNginx, upstreamConf } from './lib/nginx.js'
import { CLK_TCK, cpuMeter, memoryKb } from './lib/proc.js'
import { INVOKE_PATH, RESPONSE_BODY } from './lib/payloads.js'
import { ratio, row, summarize, table, target, targetsText, writeResults } from './lib/report.js'
import { CALLER_KEY, scanLog, startRoutegate } from './lib/routegate.js'
import { makeSelfSigned } from './lib/tls.js'
import { runWrk, writeScript } from './lib/wrk.js'

// ---- Switch: how the HTTPS-upstream gateway trusts the bench's self-signed certificate. ------
// true: by config, the endpoint's `caFile` (a PEM path), as an operator would. false: the
// gateway child runs with NODE_EXTRA_CA_CERTS instead (the same trust, set process-wide), for
// a gateway built before endpoints had caFile.
const TRUST_BY_CONFIG = true

const ROOT = fileURLToPath(new URL('../', import.meta.url))
// V8 flags routegate ships with (the binary's shebang, `npm start`, the Dockerfile's NODE_OPTIONS):
// a young generation large enough that objects of requests in flight die young. The Node
// baselines get the same flags, so the comparison stays like for like.
const PRODUCTION_NODE_ARGS = ['--max-semi-space-size=64']
// Node flags for every routegate child, e.g. BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
const NODE_ARGS = [...PRODUCTION_NODE_ARGS, ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)]
const PROXIES = ['routegate', 'bare', 'reply-from', 'nginx']

const { values: argv } = parseArgs({
  options: {
    seconds: { type: 'string' },
    passes: { type: 'string' },
    connections: { type: 'string' },
    only: { type: 'string' },
    'skip-scale': { type: 'boolean', default: false },
    'skip-rss': { type: 'boolean', default: false },
    'skip-https': { type: 'boolean', default: false },
    'skip-features': { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    out: { type: 'string' },
    'keep-temp': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false }
  }
})

if (argv.help) {
  process.stdout.write(`Usage: node bench/run.js [options]   (npm run bench -- [options])
  --seconds N          length of each measured wrk run (default 3; --smoke 1)
  --passes N           passes over every (proxy, connections), order reversed each pass (default 5; --smoke 1)
  --connections LIST   wrk connection counts (default 1,32,128; --smoke 32)
  --only LIST          proxies among ${PROXIES.join(',')} (direct always runs; it is the latency floor)
  --skip-https         no HTTPS-upstream variant
  --skip-scale         no 1,000-endpoint / 10,000-caller checks
  --skip-features      no shared-store (Redis) and cache-hit rows
  --skip-rss           no RSS check over 1 M requests
  --smoke              a few-second end-to-end check of the harness; exits 1 on errors or empty runs
  --out DIR            where <timestamp>.json and latest.json go (default bench/results;
                       --smoke: $TMPDIR/routegate-bench-smoke)
  --keep-temp          keep the temp dir (configs, gateway logs, nginx error logs)
`)
  process.exit(0)
}

const smoke = argv.smoke
// A smoke run's figures mean nothing: they must not replace bench/results/latest.json.
const outDir = argv.out ?? (smoke ? join(tmpdir(), 'routegate-bench-smoke') : join(ROOT, 'bench', 'results'))
const opts = {
  seconds: Number(argv.seconds ?? (smoke ? 1 : 3)),
  passes: Number(argv.passes ?? (smoke ? 1 : 5)),
  connections: (argv.connections ?? (smoke ? '32' : '1,32,128')).split(',').map(Number),
  proxies: argv.only === undefined ? PROXIES : argv.only.split(',').map(s => s.trim()),
  // Smoke numbers are not meant to be read, so no warm-up there.
  warmSeconds: smoke ? 0 : 2,
  https: !argv['skip-https'],
  // Smoke skips it: it needs redis-server, which the smoke check does not.
  features: !argv['skip-features'] && !smoke,
  // Smoke keeps the scale and RSS checks, tiny, so that their code paths are exercised too.
  scale: argv['skip-scale'] ? null : smoke ? { endpoints: 100, callers: 1000 } : { endpoints: 1000, callers: 10_000 },
  rss: argv['skip-rss'] ? null : smoke ? [2_000, 10_000] : [100_000, 1_000_000],
  smoke
}
for (const p of opts.proxies) if (!PROXIES.includes(p)) usage(`--only: unknown proxy '${p}' (one of ${PROXIES.join(', ')})`)
if (!Number.isInteger(opts.seconds) || opts.seconds < 1) usage('--seconds must be a whole number ≥ 1 (wrk takes whole seconds)')
if (!Number.isInteger(opts.passes) || opts.passes < 1) usage('--passes must be ≥ 1')
if (opts.connections.some(c => !Number.isInteger(c) || c < 1)) usage('--connections must be positive integers')
const hasRoutegate = opts.proxies.includes('routegate')

function usage (message) {
  process.stderr.write(`bench: ${message}\n`)
  process.exit(64)
}

const say = (line) => process.stdout.write(line + '\n')

/** Versions of what is measured, and the refusal to start without the tools. */
function machine () {
  const missing = []
  const version = (cmd, args) => {
    // wrk -v exits 1 and nginx -v prints on stderr: take whatever was printed.
    const r = spawnSync(cmd, args, { encoding: 'utf8' })
    return r.error === undefined ? `${r.stdout}${r.stderr}` : null
  }
  const wrk = version('wrk', ['-v'])
  if (wrk === null || !/wrk/.test(wrk)) missing.push('wrk')
  const nginx = nginxBinary()
  if (nginx === undefined) missing.push('nginx')
  const openssl = version('openssl', ['version'])
  if (openssl === null) missing.push('openssl')
  if (missing.length > 0) throw new Error(`missing: ${missing.join(', ')} (apt-get install ${missing.join(' ')})`)
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    node: process.version,
    wrk: /wrk (\S+)/.exec(wrk)?.[1],
    nginx: /nginx\/(\S+)/.exec(version(nginx, ['-v']))?.[1],
    openssl: openssl.trim(),
    clkTck: CLK_TCK
  }
}

/** One request through a target: it must answer 200 with the upstream's exact body. */
async function preflight (t) {
  const res = await request(t.url, {
    method: 'POST',
    headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json' },
    body: '{"ping":1}',
    ...(t.dispatcher === undefined ? {} : { dispatcher: t.dispatcher })
  })
  const text = await res.body.text()
  if (res.statusCode !== 200 || text !== RESPONSE_BODY) throw new Error(`${t.name} preflight: ${res.statusCode} ${text.slice(0, 300)}`)
}

async function main () {
  const startedAt = new Date().toISOString()
  const t0 = performance.now()
  const info = machine()
  const dir = mkdtempSync(join(tmpdir(), 'routegate-bench-'))
  const cleanup = () => { if (!argv['keep-temp']) rmSync(dir, { recursive: true, force: true }) }
  try {
    const result = await bench({ dir, info, startedAt, t0 })
    return result
  } finally {
    await stopAll()
    if (argv['keep-temp']) say(`temp dir kept: ${dir}`)
    cleanup()
  }
}

async function bench ({ dir, info, startedAt, t0 }) {
  say(`routegate bench: ${opts.passes} pass(es) × ${opts.seconds} s, connections ${opts.connections.join(',')}, proxies ${opts.proxies.join(',')}${smoke ? ' (smoke)' : ''}`)
  say(`machine: ${info.cpus} CPUs (${info.cpuModel}), node ${info.node}, wrk ${info.wrk}, nginx ${info.nginx}`)
  const token = 'bench-fixed-data-plane-token' // what the baselines send; the upstream does not check it
  const script = join(dir, 'post.lua')
  writeScript(script, { authorization: `Bearer ${CALLER_KEY}` })

  // ---- Upstream: nginx answering over HTTP and HTTPS, and the token endpoint. --------------
  const cert = makeSelfSigned(dir)
  const up = { port: await freePort(), tlsPort: await freePort() }
  const upstream = await startNginx({
    name: 'nginx upstream',
    prefix: join(dir, 'nginx-upstream'),
    files: upstreamConf({ prefix: join(dir, 'nginx-upstream'), port: up.port, tls: { port: up.tlsPort, ...cert } }),
    ports: [up.port, up.tlsPort]
  })
  const upstreamOrigin = `http://127.0.0.1:${up.port}`
  const upstreamTlsOrigin = `https://127.0.0.1:${up.tlsPort}`
  // The shadow row needs a second endpoint of its own (its own id and token).
  const emu = await startTokenEndpoint({ endpoints: opts.scale !== null && hasRoutegate ? opts.scale.endpoints : opts.features ? 2 : 1 })

  // ---- The proxies under test. ---------------------------------------------------------------
  const targets = [{ name: 'direct', url: `${upstreamOrigin}${INVOKE_PATH}`, pids: null }]
  const gateways = []
  if (hasRoutegate) {
    const rg = await startRoutegate({ nodeArgs: NODE_ARGS, name: 'routegate', dir, config: { emu, upstreamOrigin } })
    gateways.push(rg)
    targets.push({ name: 'routegate', url: `${rg.url}${INVOKE_PATH}`, pids: rg.pids, gateway: rg })
  }
  if (opts.proxies.includes('bare')) targets.push(await startBaseline('bare', upstreamOrigin, token))
  if (opts.proxies.includes('reply-from')) targets.push(await startBaseline('reply-from', upstreamOrigin, token))
  if (opts.proxies.includes('nginx')) {
    const port = await freePort()
    const prefix = join(dir, 'nginx-proxy')
    const ngx = await startNginx({ name: 'nginx proxy', prefix, files: proxyConf({ prefix, port, upstreamPort: up.port, token }), ports: [port] })
    targets.push({ name: 'nginx', url: `http://127.0.0.1:${port}${INVOKE_PATH}`, pids: ngx.pids, nginx: ngx })
  }
  for (const t of targets) await preflight(t)

  const runs = []
  const measure = async (section, t, connections, pass) => {
    const cpu = t.pids === null ? null : cpuMeter(t.pids)
    const upCpu = cpuMeter(upstream.pids)
    cpu?.start()
    upCpu.start()
    const w = await runWrk({ url: t.url, connections, seconds: opts.seconds, script })
    const run = { section, target: t.name, connections, pass, ...w, cpu: cpu?.stop(w.requests) ?? null, upstreamCpu: upCpu.stop(w.requests) }
    delete run.pid
    runs.push(run)
    const flag = run.errors.total > 0 || run.requests === 0 ? `  ERRORS ${JSON.stringify(run.errors)}` : ''
    say(`  ${section.padEnd(5)} pass ${pass} c=${String(connections).padEnd(3)} ${t.name.padEnd(26)} ${Math.round(run.rps).toString().padStart(6)} req/s  p50 ${run.latencyUs.p50} µs  p99 ${run.latencyUs.p99} µs` +
      (run.cpu === null ? '' : `  ${run.cpu.cpuUsPerRequest?.toFixed(1)} CPU µs/req`) + flag)
    return run
  }
  /** Unmeasured load at the highest connection count: JIT, upstream pools and tokens warm. */
  const warm = async (ts) => {
    if (opts.warmSeconds === 0) return
    for (const t of ts) if (t.pids !== null) await runWrk({ url: t.url, connections: Math.max(...opts.connections, 32), seconds: opts.warmSeconds, script })
  }
  /** Every (target, connections) once per pass; the target order is reversed on every other pass. */
  const passes = async (section, ts, connections) => {
    for (let pass = 1; pass <= opts.passes; pass++) {
      const order = pass % 2 === 1 ? ts : [...ts].reverse()
      for (const c of connections) for (const t of order) await measure(section, t, c, pass)
    }
  }

  say('\n== main: HTTP upstream')
  await warm(targets)
  await passes('main', targets, opts.connections)
  const mainRows = summarize(runs.filter(r => r.section === 'main'))

  // ---- HTTPS upstream: routegate and bare over TLS to nginx, at 32 connections. --------------
  let httpsRows = []
  if (opts.https) {
    say('\n== https: HTTPS upstream (self-signed CA), 32 connections')
    // The bench's own preflight request to nginx must trust the certificate too.
    const trusting = new Agent({ connect: { ca: readFileSync(cert.certFile) } })
    const hts = [{ name: 'direct-https', url: `${upstreamTlsOrigin}${INVOKE_PATH}`, pids: null, dispatcher: trusting }]
    if (hasRoutegate) {
      const rg = await startRoutegate({
        nodeArgs: NODE_ARGS,
        name: 'routegate-https',
        dir,
        config: { emu, upstreamOrigin: upstreamTlsOrigin, extraEndpoint: TRUST_BY_CONFIG ? { caFile: cert.certFile } : {} },
        env: TRUST_BY_CONFIG ? {} : { NODE_EXTRA_CA_CERTS: cert.certFile }
      })
      gateways.push(rg)
      hts.push({ name: 'routegate-https', url: `${rg.url}${INVOKE_PATH}`, pids: rg.pids, gateway: rg })
    }
    if (opts.proxies.includes('bare')) hts.push(await startBaseline('bare-https', upstreamTlsOrigin, token, cert.certFile))
    for (const t of hts) await preflight(t)
    await trusting.close()
    await warm(hts)
    await passes('https', hts, [32])
    httpsRows = summarize(runs.filter(r => r.section === 'https'))
  }

  // ---- Scale: routegate with 1,000 endpoints and with 10,000 caller keys, vs 1 and 1. --------
  let scale = null
  if (opts.scale !== null && hasRoutegate) {
    const { endpoints, callers } = opts.scale
    say(`\n== scale: routegate with ${endpoints} endpoints / ${callers} caller keys vs 1 / 1, 32 connections`)
    const base = targets.find(t => t.name === 'routegate')
    const many = []
    for (const [name, config] of [[`routegate ${endpoints} endpoints`, { endpoints }], [`routegate ${callers} callers`, { callers }]]) {
      const started = performance.now()
      const rg = await startRoutegate({ nodeArgs: NODE_ARGS, name: name.replace(/ /g, '-'), dir, config: { emu, upstreamOrigin, ...config } })
      say(`  ${name}: ready in ${Math.round(performance.now() - started)} ms`)
      gateways.push(rg)
      many.push({ name, url: `${rg.url}${INVOKE_PATH}`, pids: rg.pids, gateway: rg })
    }
    for (const t of many) await preflight(t)
    const scaleTargets = [{ ...base, name: 'routegate 1 endpoint, 1 caller' }, ...many]
    // The base too: it sat idle through the HTTPS section, and its first run came out slow.
    await warm(scaleTargets)
    await passes('scale', scaleTargets, [32])
    const rows = summarize(runs.filter(r => r.section === 'scale'))
    const [b, e, c] = scaleTargets.map(t => row(rows, t.name, 32))
    scale = {
      endpoints,
      callers,
      rows,
      endpointsRpsRatio: ratio(e?.rps, b?.rps),
      endpointsPerCoreRatio: ratio(e?.perCoreRps, b?.perCoreRps),
      callersRpsRatio: ratio(c?.rps, b?.rps),
      callersPerCoreRatio: ratio(c?.perCoreRps, b?.perCoreRps)
    }
  }

  // ---- Features: a shared store with one caller limit, and cache hits, against routegate. ------
  let features = null
  if (opts.features && hasRoutegate) {
    features = await featuresCheck({ dir, emu, upstreamOrigin, gateways, base: targets.find(t => t.name === 'routegate'), bare: targets.find(t => t.name === 'bare'), warm, passes, runs })
  }

  // ---- RSS: a fresh routegate under continuous load, VmRSS after 100k and after 1 M requests. -
  let rss = null
  if (opts.rss !== null && hasRoutegate) {
    rss = await rssCheck({ dir, emu, upstreamOrigin, script, gateways, estimate: row(mainRows, 'routegate', 32)?.rps })
  }

  // ---- Stop everything, then read the logs. ----------------------------------------------------
  await stopAll()
  const gatewayLogs = []
  for (const g of gateways) gatewayLogs.push({ name: g.name, ...await scanLog(g.logFile) })
  const nginxErrors = [upstream, ...targets.filter(t => t.nginx !== undefined).map(t => t.nginx)].map(n => ({
    name: n.name, lines: readFileSync(n.errorLog, 'utf8').split('\n').filter(l => l !== '')
  }))

  // ---- Ratios and targets. ---------------------------------------------------------------------
  const rg32 = row(mainRows, 'routegate', 32)
  const ratios = {
    routegateOverBare: ratio(rg32?.perCoreRps, row(mainRows, 'bare', 32)?.perCoreRps),
    routegateOverReplyFrom: ratio(rg32?.perCoreRps, row(mainRows, 'reply-from', 32)?.perCoreRps),
    routegateOverNginx: ratio(rg32?.perCoreRps, row(mainRows, 'nginx', 32)?.perCoreRps),
    httpsRoutegateOverBare: ratio(row(httpsRows, 'routegate-https', 32)?.perCoreRps, row(httpsRows, 'bare-https', 32)?.perCoreRps)
  }
  const direct1 = row(mainRows, 'direct', 1)
  const addedLatencyUs = Object.fromEntries(opts.proxies.map(p => {
    const r = row(mainRows, p, 1)
    return [p, r === undefined || direct1 === undefined ? null : { p50: r.p50Us - direct1.p50Us, p99: r.p99Us - direct1.p99Us }]
  }))
  // The ceiling is `bare` (the fastest correct Node proxy, bench/baselines/bare.js); routegate,
  // every feature on, is held to a share of it and to a margin over the off-the-shelf way.
  const bareAddedP50 = addedLatencyUs.bare?.p50
  const targets_ = [
    target('routegate ÷ bare, per-core req/s at 32 connections', ratios.routegateOverBare, '>=', 0.8),
    target('routegate ÷ reply-from, per-core req/s at 32 connections', ratios.routegateOverReplyFrom, '>=', 1.4),
    target('routegate added p50 over bare\'s at 1 connection (added = over direct)', typeof bareAddedP50 === 'number' && typeof addedLatencyUs.routegate?.p50 === 'number' ? addedLatencyUs.routegate.p50 - bareAddedP50 : undefined, '<=', 40, ' µs'),
    target('routegate added latency over direct at 1 connection, p99', addedLatencyUs.routegate?.p99, '<=', 1500, ' µs'),
    target(`scale: ${opts.scale?.endpoints} endpoints ÷ 1, req/s at 32 connections`, scale?.endpointsRpsRatio, '>=', 0.9),
    target(`scale: ${opts.scale?.callers} caller keys ÷ 1, req/s at 32 connections`, scale?.callersRpsRatio, '>=', 0.9),
    target(`RSS after ${opts.rss?.[1]} ÷ after ${opts.rss?.[0]} requests`, rss?.ratio, '<=', 1.1),
    target('store: routegate with a Redis store and a caller limit, CPU per request ÷ without, at 32 connections', features?.storeCpuRatio, '<=', 1.15),
    target('store: added p50 over routegate without a store, at 1 connection', features?.storeP50DeltaUs, '<=', 100, ' µs'),
    target('cache: routegate answering hits ÷ bare, per-core req/s at 32 connections', features?.cacheOverBare, '>=', 1),
    target('shadow: p50 with every request shadowed over routegate without, at 1 connection', features?.shadowP50DeltaUs, '<=', 1000, ' µs')
  ]
  const flagged = runs.filter(r => r.errors.total > 0 || r.requests === 0).map(r => ({ section: r.section, target: r.target, connections: r.connections, pass: r.pass, requests: r.requests, errors: r.errors }))
  if (rss !== null && (rss.errors > 0 || rss.points.length === 0)) flagged.push({ section: 'rss', target: 'routegate-rss', errors: rss.errors })
  const totalSeconds = (performance.now() - t0) / 1000

  const result = {
    startedAt,
    finishedAt: new Date().toISOString(),
    totalSeconds,
    smoke,
    options: { ...opts, trustByConfig: TRUST_BY_CONFIG },
    machine: info,
    payload: { requestBytes: 327, responseBytes: Buffer.byteLength(RESPONSE_BODY) },
    main: mainRows,
    https: httpsRows,
    ratios,
    addedLatencyUs,
    scale,
    rss,
    features,
    targets: targets_,
    flagged,
    gatewayLogs,
    nginxErrors,
    runs
  }

  // ---- The report. -------------------------------------------------------------------------------
  say('')
  say(table(mainRows, `HTTP upstream: medians of ${opts.passes} pass(es) × ${opts.seconds} s`))
  if (httpsRows.length > 0) say('\n' + table(httpsRows, 'HTTPS upstream'))
  if (scale !== null) say('\n' + table(scale.rows, 'Scale (routegate)'))
  if (features !== null) say('\n' + table(features.rows, 'Features (routegate)'))
  say('\nRatios (per-core req/s at 32 connections):')
  say(`- routegate ÷ bare       = ${fmtRatio(ratios.routegateOverBare)}`)
  say(`- routegate ÷ reply-from = ${fmtRatio(ratios.routegateOverReplyFrom)}`)
  say(`- routegate ÷ nginx      = ${fmtRatio(ratios.routegateOverNginx)}`)
  if (opts.https) say(`- HTTPS: routegate ÷ bare = ${fmtRatio(ratios.httpsRoutegateOverBare)}`)
  say('Added latency over direct at 1 connection (median p50 / p99):')
  for (const [p, a] of Object.entries(addedLatencyUs)) say(`- ${p.padEnd(10)} ${a === null ? '–' : `${Math.round(a.p50)} µs / ${Math.round(a.p99)} µs`}`)
  if (scale !== null) say(`Scale: ${scale.endpoints} endpoints ÷ 1 = ${fmtRatio(scale.endpointsRpsRatio)} req/s (${fmtRatio(scale.endpointsPerCoreRatio)} per-core); ${scale.callers} callers ÷ 1 = ${fmtRatio(scale.callersRpsRatio)} req/s (${fmtRatio(scale.callersPerCoreRatio)} per-core)`)
  if (features !== null) {
    say(`Store: CPU per request ÷ without = ${fmtRatio(features.storeCpuRatio)}; at 1 connection p50 ${Math.round(features.storeP50DeltaUs ?? NaN)} µs, p99 ${Math.round(features.storeP99DeltaUs ?? NaN)} µs over routegate without a store`)
    say(`Shadow (every request copied): at 1 connection p50 ${Math.round(features.shadowP50DeltaUs ?? NaN)} µs over routegate without`)
    say(`Cache hits: per-core req/s ÷ bare = ${fmtRatio(features.cacheOverBare)}, ÷ routegate without cache = ${fmtRatio(features.cacheOverRoutegate)}`)
  }
  if (rss !== null) say(`RSS: ${rss.points.map(p => `${Math.round(p.rssKb / 1024)} MiB after ${p.requests.toLocaleString('en-US')} requests`).join(', ')} → ratio ${fmtRatio(rss.ratio)}`)
  say('\nTargets:')
  say(targetsText(targets_))
  say('\nGateway logs:')
  for (const g of gatewayLogs) {
    say(`- ${g.name}: ${g.lines.toLocaleString('en-US')} lines, ${(g.bytes / 1e6).toFixed(1)} MB, ${JSON.stringify(g.byLevel)}${g.unparsable > 0 ? `, ${g.unparsable} not JSON` : ''}`)
    for (const w of g.warnings) say(`    ${w.count} × ${w.message}`)
  }
  for (const n of nginxErrors) if (n.lines.length > 0) say(`- ${n.name} error log: ${n.lines.length} lines, e.g. ${n.lines[0]}`)
  if (flagged.length > 0) say(`\nRUNS WITH ERRORS: ${flagged.length}\n${flagged.map(f => `- ${JSON.stringify(f)}`).join('\n')}`)
  say(`\nTotal time: ${totalSeconds.toFixed(0)} s${totalSeconds > 600 ? ' (over the 10-minute budget)' : ''}`)
  const file = writeResults(outDir, result)
  say(`Results: ${file} (and latest.json)`)
  return result
}

/** Starts bench/baselines/<kind>.js on a free port; `ca` makes its pool trust that certificate. */
async function startBaseline (name, upstreamOrigin, token, ca) {
  const kind = name.replace(/-https$/, '')
  const port = await freePort()
  const args = [join(ROOT, 'bench', 'baselines', `${kind}.js`), '--port', String(port), '--upstream', upstreamOrigin, '--token', token, ...(ca === undefined ? [] : ['--ca', ca])]
  const child = startChild(name, process.execPath, [...PRODUCTION_NODE_ARGS, ...args], { cwd: ROOT })
  await waitForPort(port, { child })
  return { name, url: `http://127.0.0.1:${port}${INVOKE_PATH}`, pids: () => [child.pid] }
}

/**
 * routegate with a shared store (a redis-server of the bench's own, no persistence) and one caller
 * limit that never refuses, so every request makes its store decision; routegate with the
 * endpoint's cache on, so every request after the first is a hit (wrk sends one body); and
 * routegate copying every request to a second endpoint (shadow traffic). All are measured beside
 * the plain routegate (and bare, for the cache) at 1 and 32 connections.
 */
async function featuresCheck ({ dir, emu, upstreamOrigin, gateways, base, bare, warm, passes, runs }) {
  say('\n== features: a Redis store with one caller limit, cache hits, every request shadowed; 1 and 32 connections')
  const redisPort = await freePort()
  startChild('redis', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'])
  await waitForPort(redisPort)
  const store = { redis: { url: `redis://127.0.0.1:${redisPort}`, keyPrefix: 'bench:', timeoutMs: 50 } }
  const callerLimits = { requestsPerSecond: 1_000_000, burst: 1_000_000 }
  const withStore = await startRoutegate({ nodeArgs: NODE_ARGS, name: 'routegate-store', dir, config: { emu, upstreamOrigin, store, callerLimits } })
  const withCache = await startRoutegate({ nodeArgs: NODE_ARGS, name: 'routegate-cache', dir, config: { emu, upstreamOrigin, extraEndpoint: { cache: { ttlMs: 600_000 } } } })
  const withShadow = await startRoutegate({ nodeArgs: NODE_ARGS, name: 'routegate-shadow', dir, config: { emu, upstreamOrigin, endpoints: 2, shadow: true } })
  gateways.push(withStore, withCache, withShadow)
  const ts = [
    base,
    { name: 'routegate-store', url: `${withStore.url}${INVOKE_PATH}`, pids: withStore.pids, gateway: withStore },
    { name: 'routegate-cache', url: `${withCache.url}${INVOKE_PATH}`, pids: withCache.pids, gateway: withCache },
    { name: 'routegate-shadow', url: `${withShadow.url}${INVOKE_PATH}`, pids: withShadow.pids, gateway: withShadow },
    ...(bare === undefined ? [] : [bare])
  ]
  for (const t of ts) await preflight(t)
  await warm(ts)
  await passes('features', ts, [1, 32])
  const rows = summarize(runs.filter(r => r.section === 'features'))
  const b32 = row(rows, 'routegate', 32)
  const s32 = row(rows, 'routegate-store', 32)
  const b1 = row(rows, 'routegate', 1)
  const s1 = row(rows, 'routegate-store', 1)
  return {
    rows,
    storeCpuRatio: ratio(s32?.cpuUsPerRequest, b32?.cpuUsPerRequest),
    storeP50DeltaUs: s1 === undefined || b1 === undefined ? undefined : s1.p50Us - b1.p50Us,
    storeP99DeltaUs: s1 === undefined || b1 === undefined ? undefined : s1.p99Us - b1.p99Us,
    shadowP50DeltaUs: row(rows, 'routegate-shadow', 1) === undefined || b1 === undefined ? undefined : row(rows, 'routegate-shadow', 1).p50Us - b1.p50Us,
    cacheOverBare: ratio(row(rows, 'routegate-cache', 32)?.perCoreRps, row(rows, 'bare', 32)?.perCoreRps),
    cacheOverRoutegate: ratio(row(rows, 'routegate-cache', 32)?.perCoreRps, b32?.perCoreRps)
  }
}

/**
 * Continuous load in wrk segments sized from the observed rate, so that VmRSS is read soon after
 * each mark is passed; the request count is wrk's (cross-checked with routegate_requests_total).
 */
async function rssCheck ({ dir, emu, upstreamOrigin, script, gateways, estimate }) {
  const marks = [...opts.rss]
  say(`\n== rss: fresh routegate, 32 connections until ${marks.map(m => m.toLocaleString('en-US')).join(' and ')} requests`)
  const rg = await startRoutegate({ nodeArgs: NODE_ARGS, name: 'routegate-rss', dir, config: { emu, upstreamOrigin } })
  gateways.push(rg)
  const url = `${rg.url}${INVOKE_PATH}`
  const trajectory = [{ requests: 0, ...memoryKb(rg.pid) }]
  const points = []
  let requests = 0
  let errors = 0
  let rate = estimate ?? 3000
  while (marks.length > 0) {
    const seconds = Math.max(1, Math.min(15, Math.ceil((marks[0] - requests) / rate)))
    const w = await runWrk({ url, connections: 32, seconds, script })
    requests += w.requests
    errors += w.errors.total
    rate = Math.max(w.rps, 100)
    const mem = memoryKb(rg.pid)
    trajectory.push({ requests, ...mem })
    while (marks.length > 0 && requests >= marks[0]) points.push({ mark: marks.shift(), requests, ...mem })
    say(`  ${requests.toLocaleString('en-US').padStart(10)} requests  RSS ${(mem.rssKb / 1024).toFixed(1)} MiB  (peak ${(mem.hwmKb / 1024).toFixed(1)} MiB)`)
  }
  const byCode = await rg.requestsByCode()
  return { points, trajectory, errors, byCode, ratio: ratio(points[1]?.rssKb, points[0]?.rssKb) }
}

function fmtRatio (x) {
  return typeof x === 'number' ? x.toFixed(2) : '–'
}

stopChildrenOnExit()
main().then((result) => {
  if (result.flagged.length > 0) {
    process.stderr.write(`bench: ${result.flagged.length} run(s) had errors or served nothing\n`)
    process.exitCode = 1
  }
}, (err) => {
  process.stderr.write(`bench: ${err.stack ?? err}\n`)
  process.exitCode = 1
})
