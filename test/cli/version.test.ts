import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// The built binary (npm run build): the version is read at run time from the package.json
// next to dist/, as in the container image.
const CLI = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url))
// A bound for a hung binary, not a slow machine: a start-up takes about 0.2 s on a quiet
// 2-core machine and has taken over 15 s with two suites running beside it.
const SPAWN_TIMEOUT_MS = 60_000
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

function run (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise(resolve => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ROUTEGATE_CONFIG: '' }, timeout: SPAWN_TIMEOUT_MS }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), stdout, stderr })
    })
  })
}

t.test('--version and -v print the package version and exit 0', async t => {
  t.match(VERSION, /^\d+\.\d+\.\d+/)
  // Independent processes, started together.
  const [long, short, withConfig] = await Promise.all([run(['--version']), run(['-v']), run(['--version', '--config', '/nonexistent.yaml'])])
  for (const [flag, r] of [['--version', long], ['-v', short]] as const) {
    t.equal(r.code, 0, flag)
    t.equal(r.stdout, `routegate ${VERSION}\n`, flag)
    t.equal(r.stderr, '', flag)
  }
  t.equal(withConfig.code, 0, 'wins over a command: no config is read')
  t.equal(withConfig.stdout, `routegate ${VERSION}\n`)
})

t.test('the usage text lists --version', async t => {
  const r = await run(['--help'])
  t.equal(r.code, 0)
  t.match(r.stdout, /-v, --version +print the version/)
})
