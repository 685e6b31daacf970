import t from 'tap'
import * as net from 'node:net'
import { startStack, CALLER_KEY } from '../helpers/stack.js'

t.test('probe', async t => {
  const s = await startStack(t, { config: (doc) => { doc.server.headersTimeoutMs = 500; doc.server.requestTimeoutMs = 1500 } })
  const u = new URL(s.gatewayUrl)
  const P = '/serving-endpoints/fraud-model/invocations'
  async function trickle (parts: string[], gapMs: number, label: string) {
    const sock = net.connect(Number(u.port), u.hostname)
    const t0 = Date.now()
    let out = ''
    sock.on('data', d => { out += d.toString() })
    sock.on('error', (e) => { console.log(label, 'error', e.message) })
    const closed = new Promise<void>(resolve => sock.on('close', () => resolve()))
    let i = 0
    const timer = setInterval(() => { if (i < parts.length && !sock.destroyed) sock.write(parts[i++]!) }, gapMs)
    await Promise.race([closed, new Promise(r => setTimeout(r, 35000))])
    clearInterval(timer)
    console.log(label, `after ${Date.now() - t0} ms, wrote ${i}:`, JSON.stringify(out.slice(0, 300)))
    sock.destroy()
  }
  const head = `POST ${P} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${CALLER_KEY}\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n`
  await Promise.all([
    trickle(head.split(''), 100, 'headers'),
    trickle([head, ...'{"inputs":[1]}'.split('')], 300, 'body'),
    trickle([], 100, 'idle'),
  ])
  console.log(JSON.stringify(s.emu.stats().invocations))
  console.log(s.logs.filter(l => l.includes('completed') || l.includes('client error')).join('\n'))
})
