import t from 'tap'
import { spawn, execFile } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url))

t.test('demo mode prints a curl line that returns predictions through the gateway, and SIGTERM exits 0', async t => {
  const child = spawn(process.execPath, [CLI, 'demo', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let out = ''
  const curl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no curl line within 20 s:\n${out}`)), 20_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const line = out.split('\n').find(l => l.startsWith('curl '))
      if (line !== undefined) { clearTimeout(timer); resolve(line) }
    })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`exited ${code}:\n${out}`)) })
  })
  t.match(out, /caller key: rgk_/)
  // Paste it into a shell, as a user would.
  const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
    execFile('sh', ['-c', curl], { timeout: 10_000 }, (err, stdout) => { if (err !== null) reject(err); else resolve({ stdout }) })
  })
  t.same(JSON.parse(stdout), { predictions: [120.7, 10.69] })
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0, 'graceful exit')
})
