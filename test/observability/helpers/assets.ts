// Shared by the observability tests: where the deploy assets live, PromQL metric-name extraction,
// and finding the Prometheus binaries on PATH.
import { accessSync, constants, readFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { createMetrics, METRIC_NAMES } from '../../../src/metrics/index.js'

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
export const PROMETHEUS_DIR = join(ROOT, 'deploy', 'prometheus')
export const PROMETHEUS_CONFIG = join(PROMETHEUS_DIR, 'prometheus.yml')
export const ALERTS = join(PROMETHEUS_DIR, 'alerts.yml')
export const ALERTS_TEST = join(PROMETHEUS_DIR, 'alerts.test.yml')
export const DASHBOARD = join(ROOT, 'deploy', 'grafana', 'routegate.json')

export const NOT_INSTALLED = 'not installed (apt-get install prometheus)'

/** The absolute path of an executable on PATH, or undefined. */
export function which (name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue
    const file = join(dir, name)
    try {
      accessSync(file, constants.X_OK)
      return file
    } catch {}
  }
  return undefined
}

export interface AlertRule {
  alert: string
  expr: string
  for?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

/** Every alerting rule of alerts.yml, in file order. */
export function loadAlertRules (file = ALERTS): AlertRule[] {
  const doc = parse(readFileSync(file, 'utf8')) as { groups: Array<{ rules: Array<Partial<AlertRule> & { record?: string }> }> }
  return doc.groups.flatMap(g => g.rules).filter((r): r is AlertRule => typeof r.alert === 'string')
}

// Words that may stand alone in PromQL without being a metric name.
const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'atan2', 'inf', 'nan'])

/**
 * The metric names a PromQL expression selects: identifiers left once strings, label matchers,
 * ranges and grouping label lists are removed, that are not keywords, functions (followed by
 * `(`), numbers, durations or Grafana `$variables`.
 */
export function metricNames (expr: string): Set<string> {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ')
  const names = new Set<string>()
  for (const m of bare.matchAll(/(?<![\w.$:])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = bare.slice((m.index ?? 0) + m[0].length)
    if (/^\s*\(/.test(rest) || KEYWORDS.has(m[0].toLowerCase())) continue
    names.add(m[0])
  }
  return names
}

/** Metric names a Grafana Prometheus variable query reads (`label_values(metric, label)`, `query_result(expr)`, or an expression). */
export function variableMetricNames (query: string): Set<string> {
  const q = query.trim()
  const lv = /^label_values\(\s*(.+?)\s*,\s*[a-zA-Z_]\w*\s*\)$/s.exec(q)
  if (lv !== null) return metricNames(lv[1] ?? '')
  if (/^label_values\(\s*[a-zA-Z_]\w*\s*\)$/.test(q)) return new Set()
  const qr = /^query_result\((.*)\)$/s.exec(q)
  return metricNames(qr !== null ? (qr[1] ?? '') : q)
}

const CONTRACT: ReadonlySet<string> = new Set(METRIC_NAMES)
// Every metric src/metrics registers, Node's default process metrics included, by type.
const REGISTERED = createMetrics({ endpoints: [], workspaces: [], defaultMetrics: true }).registry.getMetricsAsArray()
const HISTOGRAMS: ReadonlySet<string> = new Set(REGISTERED.filter(m => String(m.type) === 'histogram').map(m => m.name))
const NODE_DEFAULTS: ReadonlySet<string> = new Set(REGISTERED.map(m => m.name).filter(n => /^(?:nodejs|process)_/.test(n)))

/** The metric a series name belongs to: histogram `_bucket`/`_sum`/`_count` series map to their histogram. */
export function baseMetric (name: string): string {
  const m = /^(.*)_(?:bucket|sum|count)$/.exec(name)
  return m?.[1] !== undefined && HISTOGRAMS.has(m[1]) ? m[1] : name
}

/** A routegate contract metric (docs/operations.md "Metrics"), or one of Node's default process metrics (`nodejs_*`, `process_*`) as prom-client exports them. */
export function isAllowedMetric (name: string): boolean {
  const base = baseMetric(name)
  return CONTRACT.has(base) || NODE_DEFAULTS.has(base)
}
