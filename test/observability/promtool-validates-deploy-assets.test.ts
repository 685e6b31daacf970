import t from 'tap'
import { execFile } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { ALERTS, ALERTS_TEST, loadAlertRules, NOT_INSTALLED, PROMETHEUS_CONFIG, PROMETHEUS_DIR, which } from './helpers/assets.js'

interface RuleTest { alertname: string, eval_time: string, exp_alerts?: Array<{ exp_labels?: Record<string, string> }> }
interface RulesTestFile { rule_files: string[], tests: Array<{ name?: string, alert_rule_test?: RuleTest[] }> }

const promtool = which('promtool')

function run (file: string, args: string[]): Promise<{ code: number, output: string }> {
  return new Promise(resolve => {
    execFile(file, args, { cwd: PROMETHEUS_DIR, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
      resolve({ code, output: `${stdout}${stderr}` })
    })
  })
}

t.test('every alert has a severity, summary, description and runbook', async t => {
  const rules = loadAlertRules()
  t.ok(rules.length >= 8, `${rules.length} alerts`)
  t.equal(new Set(rules.map(r => r.alert)).size, rules.length, 'alert names are unique')
  for (const r of rules) {
    t.match(r.labels?.severity, /^(?:critical|warning)$/, `${r.alert}: severity`)
    for (const key of ['summary', 'description', 'runbook']) {
      t.ok((r.annotations?.[key] ?? '').trim().length > 0, `${r.alert}: ${key} annotation`)
    }
    t.ok((r.annotations?.runbook ?? '').length >= 200, `${r.alert}: the runbook is a paragraph`)
  }
})

t.test('every alert in alerts.yml is unit-tested firing in alerts.test.yml', async t => {
  const doc = parse(readFileSync(ALERTS_TEST, 'utf8')) as RulesTestFile
  t.same(doc.rule_files, ['alerts.yml'])
  const cases = doc.tests.flatMap(test => test.alert_rule_test ?? [])
  for (const { alert } of loadAlertRules()) {
    const mine = cases.filter(c => c.alertname === alert)
    t.ok(mine.length > 0, `${alert} is tested`)
    t.ok(mine.some(c => (c.exp_alerts ?? []).length > 0), `${alert} is tested firing`)
    t.ok(mine.some(c => (c.exp_alerts ?? []).length === 0), `${alert} is tested not firing`)
  }
})

t.test('promtool accepts the config, the rules and the rule tests', { skip: promtool === undefined ? `promtool ${NOT_INSTALLED}` : false }, async t => {
  const bin = promtool as string
  // `check config` opens the admin key file the scrape job names (a mounted secret in a real
  // deployment): check a copy of the directory whose key file exists.
  const dir = mkdtempSync(join(tmpdir(), 'routegate-promtool-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  cpSync(PROMETHEUS_DIR, dir, { recursive: true })
  const keyFile = join(dir, 'routegate-admin-key')
  writeFileSync(keyFile, 'test-admin-key\n')
  const config = readFileSync(PROMETHEUS_CONFIG, 'utf8')
  t.match(config, /credentials_file: \/etc\/prometheus\/routegate-admin-key/, 'the scrape job sends the admin key from a file')
  const copy = join(dir, 'prometheus.yml')
  writeFileSync(copy, config.replaceAll('/etc/prometheus/routegate-admin-key', keyFile))
  for (const args of [['check', 'config', copy], ['check', 'rules', ALERTS], ['test', 'rules', ALERTS_TEST]]) {
    const { code, output } = await run(bin, args)
    t.equal(code, 0, `promtool ${args.slice(0, 2).join(' ')} exits 0`, { output })
    t.match(output, /SUCCESS/, `promtool ${args.slice(0, 2).join(' ')} reports success`)
  }
})
