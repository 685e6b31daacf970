import t from 'tap'
import { readFileSync } from 'node:fs'
import { METRIC_NAMES } from '../../src/metrics/index.js'
import { baseMetric, DASHBOARD, isAllowedMetric, loadAlertRules, metricNames, variableMetricNames } from './helpers/assets.js'

interface Target { expr?: string, datasource?: { type?: string, uid?: string } }
interface Panel { type: string, title?: string, targets?: Target[], panels?: Panel[], datasource?: { type?: string, uid?: string } }
interface Variable { type: string, name: string, query?: string | { query?: string }, multi?: boolean, includeAll?: boolean, datasource?: { uid?: string } }
interface Dashboard { uid?: string, title?: string, schemaVersion: number, panels: Panel[], templating: { list: Variable[] } }

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard

function allPanels (panels: Panel[]): Panel[] {
  return panels.flatMap(p => [p, ...allPanels(p.panels ?? [])])
}
const queryOf = (v: Variable): string => typeof v.query === 'string' ? v.query : v.query?.query ?? ''

t.test('the metric-name extractor finds metrics and nothing else', async t => {
  t.same([...metricNames('sum by (endpoint, le) (rate(routegate_overhead_seconds_bucket{endpoint=~"$endpoint", code!~"2.."}[$__rate_interval]))')], ['routegate_overhead_seconds_bucket'])
  t.same([...metricNames('nodejs_eventloop_lag_p99_seconds > 0.1\n  and on (instance)\nroutegate_ready offset 5m')], ['nodejs_eventloop_lag_p99_seconds', 'routegate_ready'])
  t.same([...metricNames('min by (endpoint) (routegate_token_expiry_timestamp_seconds) - time() < 10 * 60 + 1e3')], ['routegate_token_expiry_timestamp_seconds'])
  t.same([...metricNames('up == 0 or vector(0)')], ['up'])
  t.same([...variableMetricNames('label_values(routegate_requests_total, endpoint)')], ['routegate_requests_total'])
  t.same([...variableMetricNames('label_values(instance)')], [])
  t.equal(baseMetric('routegate_upstream_duration_seconds_count'), 'routegate_upstream_duration_seconds')
  t.equal(isAllowedMetric('routegate_requests_total_count'), false, 'only histograms lose a suffix')
  t.equal(isAllowedMetric('routegate_overhead_seconds_bucket'), true)
  t.equal(isAllowedMetric('up'), false)
  t.equal(isAllowedMetric('process_cpu_seconds_total'), true)
  t.equal(isAllowedMetric('nodejs_gc_duration_seconds_bucket'), true)
  t.equal(isAllowedMetric('nodejs_eventloop_lag_p999_seconds'), false, 'Node metrics must exist too')
})

t.test('the dashboard is a Grafana dashboard on a ${datasource} Prometheus variable', async t => {
  t.ok(dashboard.schemaVersion >= 36, `schemaVersion ${dashboard.schemaVersion} >= 36`)
  t.equal(dashboard.uid, 'routegate')
  const vars = new Map(dashboard.templating.list.map(v => [v.name, v]))
  t.match(vars.get('datasource'), { type: 'datasource', query: 'prometheus' })
  const endpoint = vars.get('endpoint')
  t.ok(endpoint, 'endpoint variable')
  t.match(endpoint, { type: 'query', multi: true, includeAll: true, datasource: { uid: '${datasource}' } })
  t.equal(endpoint && queryOf(endpoint), 'label_values(routegate_requests_total, endpoint)')
  const instance = vars.get('instance')
  t.ok(instance, 'instance variable')
  t.match(instance, { type: 'query', datasource: { uid: '${datasource}' } })
  for (const p of allPanels(dashboard.panels).filter(p => p.type !== 'row')) {
    t.equal(p.datasource?.uid, '${datasource}', `${p.title}: panel datasource`)
    t.ok((p.targets ?? []).length > 0, `${p.title}: has targets`)
    for (const target of p.targets ?? []) t.equal(target.datasource?.uid, '${datasource}', `${p.title}: target datasource`)
  }
})

t.test('every dashboard query uses contract metrics, and every contract metric is shown', async t => {
  const used = new Set<string>()
  const queries: Array<[string, string, Set<string>]> = []
  for (const p of allPanels(dashboard.panels)) {
    for (const target of p.targets ?? []) queries.push([`panel "${p.title}"`, target.expr ?? '', metricNames(target.expr ?? '')])
  }
  for (const v of dashboard.templating.list.filter(v => v.type === 'query')) {
    queries.push([`variable ${v.name}`, queryOf(v), variableMetricNames(queryOf(v))])
  }
  t.ok(queries.length >= 20, `${queries.length} queries`)
  for (const [where, expr, names] of queries) {
    t.ok(names.size > 0, `${where} reads a metric: ${expr}`)
    for (const name of names) {
      t.ok(isAllowedMetric(name), `${where}: ${name} is a contract or Node default metric`)
      used.add(baseMetric(name))
    }
  }
  for (const name of METRIC_NAMES) t.ok(used.has(name), `the dashboard shows ${name}`)
  t.ok(used.has('nodejs_eventloop_lag_p99_seconds'), 'the dashboard shows event-loop delay')
})

t.test('every alert expression uses contract metrics', async t => {
  const rules = loadAlertRules()
  t.ok(rules.length >= 8, `${rules.length} alerts`)
  for (const rule of rules) {
    const names = metricNames(rule.expr)
    t.ok(names.size > 0, `${rule.alert} reads a metric`)
    for (const name of names) t.ok(isAllowedMetric(name), `${rule.alert}: ${name} is a contract or Node default metric`)
  }
})
