// Runs Debian's wrk (one thread) against a URL and turns its result into numbers. The lua script
// POSTs the fixed body with the caller's key and, in done(), prints one JSON line with the
// request count, the error counters and exact latency percentiles from wrk's own histogram.
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { REQUEST_BODY } from './payloads.js'

const MARK = '@@wrk-result '

/** A lua string literal that survives any byte (the key and body are ours, but be exact). */
function luaString (s) {
  return `"${[...Buffer.from(s)].map(b => b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\${b}`).join('')}"`
}

/** Writes the wrk script; `authorization` is the full header value wrk sends on every request. */
export function writeScript (file, { authorization, body = REQUEST_BODY }) {
  writeFileSync(file, `-- Written by bench/lib/wrk.js.
wrk.method = "POST"
wrk.body = ${luaString(body)}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = ${luaString(authorization)}

-- wrk's summary as one JSON line; latencies are in microseconds.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('${MARK}{"requests":%d,"durationUs":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
`)
}

/**
 * One wrk run: `-t1 -c<connections> -d<seconds>s`. wrk takes whole seconds only. The child is
 * killed if it overruns its duration by 20 s (a wedged target must not hang the bench).
 */
export async function runWrk ({ url, connections, seconds, script, timeoutSeconds = 5 }) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', `${timeoutSeconds}s`, '-s', script, url]
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => { out += d })
  child.stderr.on('data', (d) => { err += d })
  const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1000)
  const [code, signal] = await new Promise(resolve => child.once('close', (c, s) => resolve([c, s])))
  clearTimeout(killer)
  if (code !== 0) throw new Error(`wrk ${args.join(' ')} failed (code ${code}, signal ${signal}): ${err || out}`)
  return { pid: child.pid, ...parseWrk(out) }
}

/** The numbers from wrk's output: the done() JSON line is required, the rest is wrk's own text. */
export function parseWrk (out) {
  const line = out.split('\n').find(l => l.startsWith(MARK))
  if (line === undefined) throw new Error(`no result line in wrk output:\n${out}`)
  const r = JSON.parse(line.slice(MARK.length))
  const e = r.errors
  // wrk counts responses with status > 399 as "status" errors; it reports 3xx too in its text.
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
  const socketErrors = e.connect + e.read + e.write + e.timeout
  return {
    requests: r.requests,
    seconds: r.durationUs / 1e6,
    rps: r.durationUs > 0 ? r.requests / (r.durationUs / 1e6) : 0,
    bytes: r.bytes,
    latencyUs: r.latencyUs,
    errors: { ...e, non2xx, total: socketErrors + Math.max(non2xx, e.status) }
  }
}
