// Starts bench/lib/emulator-child.js and reads the JSON line it prints.
import { fileURLToPath } from 'node:url'
import { startChild, stopChild } from './children.js'

const CHILD = fileURLToPath(new URL('./emulator-child.js', import.meta.url))

/** Resolves to { url, clientId, clientSecret, endpoints: [{ name, id }], stop }. */
export async function startTokenEndpoint ({ endpoints = 1 } = {}) {
  const child = startChild('token endpoint (emulator)', process.execPath, [CHILD, '--endpoints', String(endpoints)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const info = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('emulator did not start within 20 s')), 20_000)
    child.stdout.on('data', (d) => {
      out += d
      const nl = out.indexOf('\n')
      if (nl >= 0) { clearTimeout(timer); resolve(JSON.parse(out.slice(0, nl))) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`emulator exited ${code}: ${child.stderrTail()}`)) })
  })
  child.stdout.resume()
  return { ...info, pid: child.pid, stop: () => stopChild(child) }
}
