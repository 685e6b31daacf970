// CPU time and memory of processes, read from /proc (Linux only): the bench charges each proxy
// for the CPU its own processes burnt, which stays meaningful when wrk, the upstream and the
// proxy share two cores and throughput alone would mostly measure the contention.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/** Clock ticks per second of the utime/stime fields (USER_HZ, almost always 100). */
export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim())

/** The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses). */
function statFields (pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return text.slice(text.lastIndexOf(')') + 2).split(' ')
}

/**
 * utime + stime of one process in ticks; for a thread-group leader this covers all its threads
 * (node's GC and libuv threads too). Fields 14 and 15 of stat(5), 0-based 11 and 12 after ")".
 */
export function cpuTicks (pid) {
  const f = statFields(pid)
  return Number(f[11]) + Number(f[12])
}

/** Ticks summed over `pids`; a process that is gone counts 0 (and shows up as a bogus run). */
export function sumTicks (pids) {
  let total = 0
  for (const pid of pids) {
    try { total += cpuTicks(pid) } catch {}
  }
  return total
}

/** Direct children of `pid` (nginx's workers of a master), by scanning every process's ppid. */
export function childPids (pid) {
  const out = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      if (Number(statFields(name)[1]) === pid) out.push(Number(name))
    } catch {} // gone meanwhile
  }
  return out
}

/** Resident set size and its peak (VmRSS, VmHWM) in KiB, from /proc/PID/status. */
export function memoryKb (pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8')
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN)
  return { rssKb: field('VmRSS'), hwmKb: field('VmHWM') }
}

/**
 * A CPU meter over a set of processes: `start()` before the load, `stop(requests)` after it
 * gives CPU seconds, µs per request and requests per CPU-second ("per-core req/s").
 */
export function cpuMeter (pids) {
  let t0 = 0
  return {
    start () { t0 = sumTicks(pids()) },
    stop (requests) {
      const seconds = (sumTicks(pids()) - t0) / CLK_TCK
      return {
        cpuSeconds: seconds,
        cpuUsPerRequest: requests > 0 ? seconds * 1e6 / requests : null,
        perCoreRps: seconds > 0 ? requests / seconds : null
      }
    }
  }
}
