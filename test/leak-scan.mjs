// Runs after the whole tap suite (npm test): every secret any end-to-end test used (client
// secrets, caller keys, tokens the upstream received) is searched for in every log line, response
// body and header, /metrics and /readyz output that any test produced. Any hit fails the run.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('../.leak-scan/', import.meta.url))
if (process.argv.includes('--reset')) {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  process.exit(0)
}

const runs = readdirSync(dir).filter(f => f.endsWith('.json')).map(f => JSON.parse(readFileSync(dir + f, 'utf8')))
const secrets = new Set(runs.flatMap(r => r.secrets))
const outputs = runs.flatMap(r => r.outputs.map(text => ({ test: r.test, text })))
const leaks = []
for (const secret of secrets) {
  for (const o of outputs) {
    if (o.text.includes(secret)) leaks.push({ test: o.test, secret: `${secret.slice(0, 4)}…(${secret.length} chars)`, where: o.text.slice(0, 200) })
  }
}
const lines = outputs.length
if (runs.length === 0) {
  console.log('leak scan: no end-to-end output recorded')
  console.log('0 passed, 1 failed')
  process.exit(1)
}
if (leaks.length > 0) {
  console.log(`leak scan: ${leaks.length} leak(s) of ${secrets.size} secrets in ${lines} outputs of ${runs.length} gateway runs`)
  for (const l of leaks.slice(0, 20)) console.log(JSON.stringify(l))
  process.exit(1)
}
console.log(`leak scan: ${secrets.size} secrets searched in ${lines} outputs (log lines, bodies, headers, /metrics, /readyz) of ${runs.length} gateway runs: no leak`)
