// Every child process of the bench (nginx, gateways, baselines, the token endpoint) is started
// here, so that all of them are stopped on a normal end, on an error and on Ctrl-C: a bench that
// dies must not leave an nginx holding its ports or burning the CPU the next run measures.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect, createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** @type {Set<import('node:child_process').ChildProcess>} */
const live = new Set()

/**
 * Spawns a long-running child and tracks it. `name` labels its failures; an unexpected exit is
 * reported on stderr at once, since the runs after it would only show connection errors.
 */
export function startChild (name, command, args, opts = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts })
  child.benchName = name
  live.add(child)
  let stderr = ''
  child.stderr?.on('data', (d) => { stderr = (stderr + d.toString()).slice(-4000) })
  child.once('exit', (code, signal) => {
    live.delete(child)
    if (!child.stopping) process.stderr.write(`bench: ${name} (pid ${child.pid}) exited unexpectedly (code ${code}, signal ${signal})\n${stderr}`)
  })
  child.stderrTail = () => stderr
  return child
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child is gone. */
export async function stopChild (child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.stopping = true
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

export async function stopAll () {
  await Promise.all([...live].map(c => stopChild(c)))
}

/**
 * Stops the children however the bench ends. On 'exit' only synchronous work is possible, so
 * the children get SIGTERM (nginx's master then takes its workers down with it).
 */
export function stopChildrenOnExit () {
  process.once('exit', () => {
    for (const c of live) { c.stopping = true; c.kill('SIGTERM') }
  })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}, stopping children\n`)
      stopAll().finally(() => process.exit(130))
    })
  }
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port; rejects after `ms`. */
export async function waitForPort (port, { ms = 20_000, child } = {}) {
  const deadline = Date.now() + ms
  for (;;) {
    const ok = await new Promise(resolve => {
      const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true) })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (child !== undefined && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${child.benchName} exited before listening on ${port}: ${child.stderrTail?.() ?? ''}`)
    }
    if (Date.now() > deadline) throw new Error(`nothing listening on 127.0.0.1:${port} after ${ms} ms`)
    await sleep(50)
  }
}

/** A port on 127.0.0.1 that was free a moment ago. */
export async function freePort () {
  const srv = createServer()
  await new Promise(resolve => srv.listen(0, '127.0.0.1', resolve))
  const { port } = srv.address()
  await new Promise(resolve => srv.close(resolve))
  return port
}
