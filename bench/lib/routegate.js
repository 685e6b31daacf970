// routegate as the bench runs it: the built CLI (dist/) as a child process with a config file of
// ours, every feature on (caller keys, the token broker, metrics with Node's default collectors,
// one access-log line per request at info). Its stdout (the log) goes to a file, as it would to
// a log shipper, and is read afterwards for warnings.
import { randomBytes } from 'node:crypto'
import { closeSync, createReadStream, openSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { sha256Hex } from '../../dist/callers/keys.js'
import { freePort, startChild, stopChild } from './children.js'
import { ENDPOINT_NAME, INVOKE_PATH } from './payloads.js'

const CLI = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url))

/** The caller key wrk presents; only its sha256 is in the config, as in production. */
export const CALLER_KEY = 'rgk_bench_' + randomBytes(16).toString('hex')

/**
 * The config document. `endpoints` (≥ 1) endpoints all point at the upstream; the measured one is
 * `bench`. Each gets its own endpoint id when the token endpoint knows enough of them, so the
 * gateway holds one token per endpoint as it would in production; otherwise they share the
 * first id. `callers` (≥ 1) callers; the bench caller comes last, behind the random keys of the
 * others. `extraEndpoint` adds fields to every endpoint (e.g. caFile, cache); `callerLimits` are
 * the bench caller's limits; `store` is the config's store section; `shadow` copies every request
 * of the measured endpoint to a second one (`endpoints` ≥ 2).
 */
export function gatewayConfig ({ port, adminPort, emu, upstreamOrigin, endpoints = 1, callers = 1, extraEndpoint = {}, callerLimits, store, shadow = false, logLevel = process.env.BENCH_LOG_LEVEL ?? 'info' }) {
  const ids = emu.endpoints
  const eps = [{ name: ENDPOINT_NAME, path: INVOKE_PATH, id: ids[0].id }]
  for (let i = 1; i < endpoints; i++) {
    const name = ids[i]?.name ?? `ep-${String(i).padStart(5, '0')}`
    eps.push({ name, path: `/serving-endpoints/${name}/invocations`, id: ids[i]?.id ?? ids[0].id })
  }
  const others = Array.from({ length: callers - 1 }, (_, i) => ({
    name: `caller-${String(i + 1).padStart(5, '0')}`,
    keySha256: sha256Hex(randomBytes(24).toString('base64url')),
    endpoints: ['*']
  }))
  return {
    server: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort },
    log: { level: logLevel },
    workspaces: [{ name: 'bench', host: emu.url, clientId: emu.clientId, clientSecret: emu.clientSecret }],
    endpoints: eps.map((e, i) => ({
      name: e.name,
      workspace: 'bench',
      url: `${upstreamOrigin}${e.path}`,
      endpointId: e.id,
      ...extraEndpoint,
      // `shadow`: every request to the measured endpoint is also sent to the second one.
      ...(shadow && i === 0 && eps.length > 1 ? { shadow: { endpoint: eps[1].name, percent: 100 } } : {})
    })),
    callers: [...others, { name: 'bench', keySha256: sha256Hex(CALLER_KEY), endpoints: ['*'], ...(callerLimits === undefined ? {} : { limits: callerLimits }) }],
    ...(store === undefined ? {} : { store })
  }
}

/**
 * Starts a gateway and resolves once /readyz says 200 (every endpoint holds its token).
 * `config` is gatewayConfig()'s options less the ports, which are picked here; `nodeArgs` go
 * before the script (e.g. --cpu-prof, which NODE_OPTIONS refuses).
 */
export async function startRoutegate ({ name, dir, config, env = {}, nodeArgs = [], readyMs = 60_000 }) {
  const [port, adminPort] = [await freePort(), await freePort()]
  const configFile = join(dir, `${name}.json`)
  writeFileSync(configFile, JSON.stringify(gatewayConfig({ ...config, port, adminPort })))
  const logFile = join(dir, `${name}.log`)
  const out = openSync(logFile, 'a')
  const child = startChild(name, process.execPath, [...nodeArgs, CLI, '--config', configFile], {
    stdio: ['ignore', out, 'pipe'],
    env: { ...process.env, ...env }
  })
  closeSync(out) // the child has its own copy of the descriptor
  const url = `http://127.0.0.1:${port}`
  const adminUrl = `http://127.0.0.1:${adminPort}`
  const deadline = Date.now() + readyMs
  for (;;) {
    const status = await request(`${adminUrl}/readyz`).then(r => r.body.dump().then(() => r.statusCode), () => 0)
    if (status === 200) break
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}) before ready: ${child.stderrTail()}\n${tail(logFile)}`)
    if (Date.now() > deadline) throw new Error(`${name} not ready after ${readyMs} ms (last /readyz ${status})\n${tail(logFile)}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return {
    name,
    pid: child.pid,
    url,
    adminUrl,
    logFile,
    pids: () => [child.pid],
    /** Requests answered so far, by status code, from routegate_requests_total. */
    async requestsByCode () {
      const text = await request(`${adminUrl}/metrics`).then(r => r.body.text())
      const byCode = {}
      for (const m of text.matchAll(/^routegate_requests_total\{([^}]*)\} (\d+)/gm)) {
        const code = /code="(\d+)"/.exec(m[1])?.[1] ?? '?'
        byCode[code] = (byCode[code] ?? 0) + Number(m[2])
      }
      return byCode
    },
    stop: () => stopChild(child, 10_000)
  }
}

function tail (file) {
  try { return readFileSync(file, 'utf8').split('\n').slice(-10).join('\n') } catch { return '' }
}

/**
 * What the gateway logged: lines and bytes, how many per pino level, and every distinct message
 * at warn or above with its count. Read line by line: the RSS check alone writes ~370 MB. pino
 * writes the level first, so the access lines at info are counted without parsing them.
 */
export async function scanLog (file) {
  const byLevel = {}
  const problems = new Map()
  let lines = 0
  let unparsable = 0
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line === '') continue
    lines++
    if (line.startsWith('{"level":30,')) {
      byLevel.info = (byLevel.info ?? 0) + 1
      continue
    }
    let rec
    try { rec = JSON.parse(line) } catch { unparsable++; continue }
    const level = LEVELS[rec.level] ?? String(rec.level)
    byLevel[level] = (byLevel[level] ?? 0) + 1
    if (rec.level >= 40) {
      const key = `${level}: ${rec.msg}${rec.err?.message ? ` (${rec.err.message})` : ''}`
      problems.set(key, (problems.get(key) ?? 0) + 1)
    }
  }
  return {
    bytes: statSync(file).size,
    lines,
    unparsable,
    byLevel,
    warnings: [...problems].map(([message, count]) => ({ message, count }))
  }
}

const LEVELS = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }
