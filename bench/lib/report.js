// From raw runs to what is read: medians per (target, connections), the ratios and targets of the
// issue, a markdown table for the terminal, and the JSON files in bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export function median (values) {
  const v = values.filter(x => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return null
  const mid = Math.floor(v.length / 2)
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

/**
 * One row per (target, connections) of `runs`, in first-seen order: medians over the passes of
 * throughput, latency percentiles and CPU; errors are summed, and a row is flagged when any of its
 * runs had errors or served nothing.
 */
export function summarize (runs) {
  const groups = new Map()
  for (const r of runs) {
    const key = `${r.target}\u0000${r.connections}`
    if (!groups.has(key)) groups.set(key, [])
    groups.get(key).push(r)
  }
  return [...groups.values()].map(rs => {
    const errors = rs.reduce((n, r) => n + r.errors.total, 0)
    const requests = rs.reduce((n, r) => n + r.requests, 0)
    return {
      target: rs[0].target,
      connections: rs[0].connections,
      passes: rs.length,
      requests,
      rps: median(rs.map(r => r.rps)),
      p50Us: median(rs.map(r => r.latencyUs.p50)),
      p99Us: median(rs.map(r => r.latencyUs.p99)),
      cpuUsPerRequest: median(rs.map(r => r.cpu?.cpuUsPerRequest)),
      perCoreRps: median(rs.map(r => r.cpu?.perCoreRps)),
      upstreamCpuUsPerRequest: median(rs.map(r => r.upstreamCpu?.cpuUsPerRequest)),
      errors,
      flagged: errors > 0 || rs.some(r => r.requests === 0)
    }
  })
}

export function row (rows, target, connections) {
  return rows.find(r => r.target === target && r.connections === connections)
}

export function ratio (a, b) {
  return typeof a === 'number' && typeof b === 'number' && b !== 0 ? a / b : null
}

/** A target of the issue: pass is null when it could not be measured in this run. */
export function target (name, value, op, threshold, unit = '') {
  const pass = typeof value !== 'number' || !Number.isFinite(value) ? null : op === '>=' ? value >= threshold : op === '<=' ? value <= threshold : Math.abs(value - 1) <= threshold
  return { name, value, op, threshold, unit, pass }
}

const fmt = (x, digits = 0) => x === null || x === undefined ? '–' : Number(x).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

/** The results table, markdown-ish; flagged rows carry "ERR". */
export function table (rows, title) {
  const head = ['target', 'conns', 'req/s', 'p50 µs', 'p99 µs', 'CPU µs/req', 'per-core req/s', 'upstream CPU µs/req', 'errors']
  const lines = rows.map(r => [
    r.target, String(r.connections), fmt(r.rps), fmt(r.p50Us), fmt(r.p99Us), fmt(r.cpuUsPerRequest, 1), fmt(r.perCoreRps),
    fmt(r.upstreamCpuUsPerRequest, 1), r.flagged ? `ERR ${r.errors}` : '0'
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map(l => l[i].length)))
  const line = cells => `| ${cells.map((c, i) => i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join(' | ')} |`
  return [
    `### ${title}`,
    line(head),
    `|${widths.map((w, i) => i < 2 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':').join('|')}|`,
    ...lines.map(line)
  ].join('\n')
}

export function targetsText (targets) {
  return targets.map(t => {
    const mark = t.pass === null ? 'n/a ' : t.pass ? 'PASS' : 'FAIL'
    const value = typeof t.value === 'number' ? fmt(t.value, t.unit === '' ? 3 : 0) : '–'
    const want = t.op === '±' ? `within ${t.threshold * 100} % of 1` : `${t.op} ${t.threshold}${t.unit}`
    return `- [${mark}] ${t.name}: ${value}${t.unit} (want ${want})`
  }).join('\n')
}

/** Writes `<ISO timestamp>.json` and `latest.json` into `dir`; returns the first path. */
export function writeResults (dir, result) {
  mkdirSync(dir, { recursive: true })
  const stamp = result.startedAt.replace(/[:.]/g, '-')
  const file = join(dir, `${stamp}.json`)
  const text = JSON.stringify(result, null, 2) + '\n'
  writeFileSync(file, text)
  writeFileSync(join(dir, 'latest.json'), text)
  return file
}
