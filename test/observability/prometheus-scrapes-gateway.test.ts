import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { startStack, sleep, freePort } from '../helpers/stack.js'
import { ALERTS, NOT_INSTALLED, which } from './helpers/assets.js'

interface Sample { metric: Record<string, string>, value: [number, string] }
interface QueryResponse { status: string, data: { resultType: string, result: Sample[] } }
interface RulesResponse { status: string, data: { groups: Array<{ rules: Array<{ name: string, health: string, lastError?: string, lastEvaluation: string }> }> } }

const prometheus = which('prometheus')

/** SIGTERM, then SIGKILL if it has not exited within 5 s. */
async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** Polls `probe` every 250 ms until it returns a value other than undefined, for at most `ms`. */
async function until<T> (ms: number, probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await probe().catch(() => undefined)
    if (v !== undefined || Date.now() > deadline) return v
    await sleep(250)
  }
}

t.test('Prometheus scrapes the gateway\'s contract metrics with exact request counts', { skip: prometheus === undefined ? `prometheus ${NOT_INSTALLED}` : false }, async t => {
  const s = await startStack(t)
  const dir = await mkdtemp(join(tmpdir(), 'routegate-prometheus-'))
  const port = await freePort()
  const promUrl = `http://127.0.0.1:${port}`
  const config = join(dir, 'prometheus.yml')
  await writeFile(config, [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'rule_files:',
    `  - ${JSON.stringify(ALERTS)}`,
    'scrape_configs:',
    '  - job_name: routegate',
    '    metrics_path: /metrics',
    '    static_configs:',
    `      - targets: [${JSON.stringify(new URL(s.adminUrl).host)}]`,
    ''
  ].join('\n'))

  let stderr = ''
  const child = spawn(prometheus as string, [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn'
  ], { stdio: ['ignore', 'ignore', 'pipe'] })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-8192) })
  const killOnExit = (): void => { child.kill('SIGKILL') }
  process.once('exit', killOnExit)
  t.teardown(async () => {
    process.removeListener('exit', killOnExit)
    await stop(child)
    await rm(dir, { recursive: true, force: true })
  })

  const ready = await until(15_000, async () => {
    if (child.exitCode !== null) throw new Error('prometheus exited')
    const res = await request(`${promUrl}/-/ready`)
    await res.body.dump()
    return res.statusCode === 200 ? true : undefined
  })
  t.ok(ready, 'prometheus is ready', { stderr })
  if (ready !== true) return

  const query = async (q: string): Promise<Sample[]> => {
    const res = await request(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`)
    const body = await res.body.json() as QueryResponse
    if (body.status !== 'success') throw new Error(`query ${q}: ${JSON.stringify(body)}`)
    return body.data.result
  }

  const statuses: number[] = []
  for (let i = 0; i < 30; i++) statuses.push((await s.invoke('fraud-model')).status)
  s.emu.faults.dataPlane({ endpoint: 'feed-ads', status: 503, times: 3 })
  for (let i = 0; i < 13; i++) statuses.push((await s.invoke('feed-ads')).status)
  for (let i = 0; i < 5; i++) statuses.push((await s.invoke('fraud-model', undefined, { authorization: 'Bearer not-a-caller-key' })).status)
  t.same(statuses, [...Array(30).fill(200), 503, 503, 503, ...Array(10).fill(200), ...Array(5).fill(401)], 'the gateway answered as driven')

  const expected = { 'fraud-model 200': 30, 'feed-ads 200': 10, 'feed-ads 503': 3, 'fraud-model 401': 5 }
  const counts = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {}
    for (const r of await query('routegate_requests_total{job="routegate"}')) out[`${r.metric.endpoint} ${r.metric.code}`] = Number(r.value[1])
    return out
  }
  let seen: Record<string, number> = {}
  await until(20_000, async () => {
    seen = await counts()
    return JSON.stringify(Object.entries(seen).sort()) === JSON.stringify(Object.entries(expected).sort()) ? true : undefined
  })
  t.same(seen, expected, 'routegate_requests_total per endpoint and code is exactly what was sent')

  const overhead = await query('routegate_overhead_seconds_count{endpoint="fraud-model"}')
  t.equal(overhead.length, 1)
  t.equal(Number(overhead[0]?.value[1]), 30, 'one overhead observation per forwarded fraud-model request')

  const ttl = await query('routegate_token_expiry_timestamp_seconds{endpoint="fraud-model"} - time()')
  t.equal(ttl.length, 1)
  t.ok(Number(ttl[0]?.value[1]) > 0, `fraud-model's token expires in the future (${ttl[0]?.value[1]} s)`)

  const fetched = await query('sum(routegate_token_fetches_total{result="success"})')
  t.ok(Number(fetched[0]?.value[1]) >= 1, 'at least one successful token fetch')

  const pool = await query('routegate_upstream_pool_connections')
  t.ok(pool.length > 0, 'routegate_upstream_pool_connections has series')
  t.same(new Set(pool.map(r => r.metric.state)), new Set(['connected', 'free', 'pending', 'running']), 'one series per pool state')
  t.same(new Set(pool.map(r => r.metric.endpoint)), new Set(['fraud-model', 'feed-ads']))

  const circuits = await query('routegate_upstream_circuit_open')
  t.same(Object.fromEntries(circuits.map(r => [r.metric.endpoint, Number(r.value[1])])), { 'fraud-model': 0, 'feed-ads': 0 }, 'every circuit reported closed')

  // The real alert rules load and evaluate on the gateway's series without error.
  const rules = await until(10_000, async () => {
    const res = await request(`${promUrl}/api/v1/rules?type=alert`)
    const body = await res.body.json() as RulesResponse
    const all = body.data.groups.flatMap(g => g.rules)
    return all.length > 0 && all.every(r => r.health !== 'unknown') ? all : undefined
  })
  t.ok(rules !== undefined && rules.length >= 8, 'alerts.yml loaded')
  for (const r of rules ?? []) t.equal(r.health, 'ok', `${r.name} evaluates`, { lastError: r.lastError })
})
