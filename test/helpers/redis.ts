// Test fixture: a throwaway redis-server on 127.0.0.1 and a random port (no persistence), that
// a test can stop and start again on the same port (a store outage and its recovery).
import { spawn, type ChildProcess } from 'node:child_process'
import { createConnection } from 'node:net'
import { freePort, type Teardown } from './stack.js'

export interface TestRedis {
  port: number
  url: string
  /** Stops the server (SIGKILL: an outage, not a shutdown) and waits for it to exit. */
  stop: () => Promise<void>
  /** Starts it again on the same port (empty: nothing was persisted) and waits until it answers. */
  start: () => Promise<void>
  /** The server's process id (to pause it with SIGSTOP: a hung store), while it runs. */
  pid: () => number | undefined
  /** Runs one command (redis-cli style arguments) and returns its raw reply text. */
  command: (...args: string[]) => Promise<string>
}

export async function startRedis (t: Teardown): Promise<TestRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' })
    // Bounded, generously (a loaded 2-core machine running two suites): up to 30 s to accept connections.
    for (let i = 0; i < 600; i++) {
      if (await answers(port)) return
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    throw new Error(`redis-server did not start on port ${port}`)
  }
  const stop = async (): Promise<void> => {
    const c = child
    child = undefined
    if (c === undefined || c.exitCode !== null) return
    await new Promise<void>(resolve => { c.once('exit', () => { resolve() }); c.kill('SIGKILL') })
  }
  await start()
  t.teardown(stop)
  return { port, url: `redis://127.0.0.1:${port}`, stop, start, pid: () => child?.pid, command: async (...args) => await command(port, args) }
}

async function answers (port: number): Promise<boolean> {
  try {
    return (await command(port, ['PING'])).startsWith('+PONG')
  } catch {
    return false
  }
}

/** One RESP command over a fresh connection; resolves with the reply once it looks complete (bounded by 2 s). */
async function command (port: number, args: string[]): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let text = ''
    const timer = setTimeout(() => { socket.destroy(); resolve(text) }, 2000)
    socket.on('error', (err) => { clearTimeout(timer); reject(err) })
    socket.on('data', (d) => {
      text += d.toString('utf8')
      if (complete(text)) { clearTimeout(timer); socket.end(); resolve(text) }
    })
    socket.write(`*${args.length}\r\n${args.map(a => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
  })
}

/** Whether a RESP reply is whole (enough for the replies tests read: simple, bulk and flat arrays). */
function complete (text: string): boolean {
  try {
    return parseResp(text, 0) !== undefined
  } catch {
    return false
  }
}

function parseResp (s: string, i: number): number | undefined {
  const eol = s.indexOf('\r\n', i)
  if (eol === -1) return undefined
  const type = s[i]
  const n = Number(s.slice(i + 1, eol))
  if (type === '+' || type === '-' || type === ':') return eol + 2
  if (type === '$') return n < 0 ? eol + 2 : (s.length >= eol + 2 + n + 2 ? eol + 2 + n + 2 : undefined)
  if (type === '*') {
    let at: number | undefined = eol + 2
    for (let k = 0; k < n && at !== undefined; k++) at = parseResp(s, at)
    return at
  }
  throw new Error('unexpected RESP')
}
