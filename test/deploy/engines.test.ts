// Supported Node versions: engines says >=22 (the maintained LTS lines); CI keeps testing Node 20
// and 24, so engine-strict must stay off (npm ci on Node 20 warns EBADENGINE and goes on).
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const read = (p: string): string => readFileSync(fileURLToPath(new URL(`../../${p}`, import.meta.url)), 'utf8')

t.test('engines, engine-strict and the CI matrix agree', async t => {
  const pkg = JSON.parse(read('package.json')) as { engines: { node: string } }
  t.equal(pkg.engines.node, '>=22')
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { engines?: { node: string } }> }
  t.equal(lock.packages['']?.engines?.node, '>=22', 'the lockfile says the same')
  const npmrc = fileURLToPath(new URL('../../.npmrc', import.meta.url))
  t.notMatch(existsSync(npmrc) ? readFileSync(npmrc, 'utf8') : '', /engine-strict\s*=\s*true/, 'engine-strict is not set: Node 20 installs with a warning')
  const ci = read('.ci/run')
  t.match(ci, /npm test 2>&1 \| tee "\$log_dir\/node20\.log"/, 'Node 20 runs the suite')
  t.match(ci, /node@24[\s\S]*npm test/, 'Node 24 runs the suite')
  t.match(ci, /node@22/, 'Node 22 is smoke-tested')
  t.equal(ci.match(/npm test'?\s*2>&1/g)?.length, 2, 'two full suites, not three')
})
