import t from 'tap'
import { spawn } from 'node:child_process'
import { accessSync, constants, readFileSync, statSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { setPriority, tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const LATEST = join(ROOT, 'bench', 'results', 'latest.json')

/** The executable's path on PATH (plus sbin dirs: nginx lives in /usr/sbin), or undefined. */
function which (name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin']
  for (const dir of dirs) {
    if (dir === '') continue
    try {
      accessSync(join(dir, name), constants.X_OK)
      return join(dir, name)
    } catch {}
  }
  return undefined
}

interface Row { target: string, connections: number, requests: number, errors: number, flagged: boolean, rps: number, perCoreRps: number | null }
interface Result {
  smoke: boolean
  main: Row[]
  https: Row[]
  ratios: Record<string, number | null>
  flagged: unknown[]
  targets: Array<{ name: string, pass: boolean | null }>
  scale: { rows: Row[] } | null
  rss: { points: unknown[] } | null
}

const missing = ['wrk', 'nginx'].filter(name => which(name) === undefined)
const notInstalled = missing.length === 0 ? false : `${missing.join(' and ')} not installed (apt-get install ${missing.join(' ')})`

if (notInstalled !== false && process.env.CI === 'true') {
  // CI must measure, not skip: .ci/run installs both.
  t.fail(`${notInstalled}: CI needs them for the bench smoke test`)
} else {
  t.test('npm run bench -- --smoke runs every proxy end to end without errors', { skip: notInstalled }, async t => {
    const out = await mkdtemp(join(tmpdir(), 'routegate-bench-smoke-'))
    t.teardown(() => rm(out, { recursive: true, force: true }))
    const latestBefore = fingerprint(LATEST)

    // Run the bench as a user would, not under tap's coverage hooks (they would reach every
    // gateway and baseline process it starts, and slow down exactly what it measures).
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(_TAPJS_|NODE_OPTIONS$|NODE_V8_COVERAGE$)/.test(k)))
    const child = spawn(process.execPath, ['bench/run.js', '--smoke', '--out', out], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    // Niced (and so are the nginx and node processes it starts, which inherit it): the smoke
    // bench saturates both cores, and tap runs other test files beside it whose timeouts matter
    // more than these figures. The harness spawns nothing before its imports have loaded.
    if (child.pid !== undefined) setPriority(child.pid, 10)
    let output = ''
    child.stdout.on('data', (d: Buffer) => { output += d.toString() })
    child.stderr.on('data', (d: Buffer) => { output += d.toString() })
    // SIGTERM first: the harness then stops its own nginx and node children. A smoke run takes
    // about 30 s on a quiet 2-core machine; the bound is for a hung harness, not a slow machine
    // (`npm run bench:smoke` runs this file alone, outside `npm test`, with tap's timeout at 600 s).
    const timer = setTimeout(() => {
      child.kill('SIGTERM')
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref()
    }, 480_000)
    const code = await new Promise<number | null>(resolve => child.once('close', resolve))
    clearTimeout(timer)
    t.equal(code, 0, 'harness exits 0', { output })

    const files = await readdir(out)
    t.ok(files.includes('latest.json'), 'latest.json written to --out')
    t.ok(files.some(f => /^\d{4}-\d\d-\d\dT.*\.json$/.test(f)), 'timestamped result written to --out')
    t.same(fingerprint(LATEST), latestBefore, 'bench/results/latest.json untouched')

    const result = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as Result
    t.equal(result.smoke, true)
    for (const target of ['direct', 'routegate', 'bare', 'reply-from', 'nginx']) {
      const row = result.main.find(r => r.target === target)
      t.ok(row, `${target} measured`)
      if (row === undefined) continue
      t.ok(row.requests > 0, `${target} served requests`)
      t.equal(row.errors, 0, `${target} had no errors`)
      t.equal(row.flagged, false)
      if (target !== 'direct') t.ok(typeof row.perCoreRps === 'number' && row.perCoreRps > 0, `${target} has a CPU figure`)
    }
    for (const target of ['direct-https', 'routegate-https', 'bare-https']) {
      const row = result.https.find(r => r.target === target)
      t.ok(row !== undefined && row.requests > 0 && row.errors === 0, `${target} served requests without errors`)
    }
    for (const name of ['routegateOverBare', 'routegateOverReplyFrom', 'routegateOverNginx', 'httpsRoutegateOverBare']) {
      const value = result.ratios[name]
      t.ok(typeof value === 'number' && Number.isFinite(value) && value > 0, `ratio ${name} is a number (${value})`)
    }
    t.same(result.flagged, [], 'no run flagged')
    t.ok(result.scale !== null && result.scale.rows.every(r => r.requests > 0 && r.errors === 0), 'scale checks ran cleanly')
    t.ok(result.rss !== null && result.rss.points.length === 2, 'rss check reached both marks')
    t.ok(result.targets.length >= 7 && result.targets.every(x => typeof x.name === 'string'), 'targets listed')
  })
}

/** Size, mtime and content of a file, or null: enough to tell that nothing wrote to it. */
function fingerprint (file: string): string | null {
  try {
    const s = statSync(file)
    return `${s.size}:${s.mtimeMs}:${readFileSync(file, 'utf8')}`
  } catch {
    return null
  }
}
