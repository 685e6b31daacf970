import t from 'tap'
import * as net from 'node:net'
import { startStack, CALLER_KEY } from '../helpers/stack.js'

function raw (url: string, data: string | Buffer, opts: { end?: boolean, waitMs?: number } = {}): Promise<string> {
  const u = new URL(url)
  return new Promise(resolve => {
    const sock = net.connect(Number(u.port), u.hostname)
    let out = ''
    sock.on('data', d => { out += d.toString('latin1') })
    sock.on('close', () => resolve(out))
    sock.on('error', () => {})
    sock.write(data)
    if (opts.end === true) sock.end()
    setTimeout(() => { sock.destroy(); resolve(out + ' [TIMEOUT]') }, opts.waitMs ?? 1500)
  })
}

t.test('probe', async t => {
  const s = await startStack(t, { config: (doc) => { doc.server.bodyLimitBytes = 1024 } })
  const A = `Authorization: Bearer ${CALLER_KEY}\r\n`
  const body = '{"inputs":[1]}'
  const cases: Record<string, string> = {
    absolute: `POST http://evil.example/serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n${A}Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    clte: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: x\r\n${A}Content-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`,
    badchunk: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: x\r\n${A}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`,
    nul: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: x\r\n${A}X-Foo: a\x00b\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    obsfold: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: x\r\n${A}X-Foo: a\r\n b\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    nohost: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\n${A}Content-Length: 0\r\nConnection: close\r\n\r\n`,
    badhost: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: a b/c\r\n${A}Content-Length: 0\r\nConnection: close\r\n\r\n`,
    twohosts: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: a\r\nHost: b\r\n${A}Content-Length: 0\r\nConnection: close\r\n\r\n`,
    connect: `CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n${A}\r\n`,
    http09: `GET /serving-endpoints/fraud-model/invocations\r\n`,
    http10: `POST /serving-endpoints/fraud-model/invocations HTTP/1.0\r\n${A}Content-Length: ${body.length}\r\n\r\n${body}`,
    http2: `POST /serving-endpoints/fraud-model/invocations HTTP/2.0\r\nHost: x\r\n${A}Content-Length: 0\r\n\r\n`,
    pri: `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`,
    garbage: `\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03`,
    bigheaders: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: x\r\n${A}X-Big: ${'a'.repeat(20000)}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    manyheaders: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: x\r\n${A}${Array.from({ length: 120 }, (_, i) => `X-H${i}: v\r\n`).join('')}Content-Length: 0\r\nConnection: close\r\n\r\n`,
    truncated: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: x\r\n${A}Content-Length: 100\r\nConnection: close\r\n\r\n{"inputs"`,
    truncatedchunk: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: x\r\n${A}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n10\r\n{"inputs"`,
    negcl: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: x\r\n${A}Content-Length: -1\r\nConnection: close\r\n\r\n`,
    twocl: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: x\r\n${A}Content-Length: 3\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd`,
    teidentity: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: x\r\n${A}Transfer-Encoding: identity\r\nConnection: close\r\n\r\n`,
    tegzip: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: x\r\n${A}Transfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`,
    spacebeforecolon: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: x\r\n${A}Content-Length : 0\r\nConnection: close\r\n\r\n`,
    lfonly: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\nHost: x\n${A.trim()}\nContent-Length: 0\nConnection: close\n\n`,
    ctlinpath: `POST /serving-endpoints/fr\x01aud/invocations HTTP/1.1\r\nHost: x\r\n${A}Content-Length: 0\r\nConnection: close\r\n\r\n`,
    utf8path: `POST /serving-endpoints/fr\u00e9aud/invocations HTTP/1.1\r\nHost: x\r\n${A}Content-Length: 0\r\nConnection: close\r\n\r\n`,
    star: `OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    smuggle: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: x\r\n${A}Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\nConnection: close\r\n\r\n0\r\n\r\n`,
    crinheader: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: x\r\n${A}X-A: a\rb\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    chunkext: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: x\r\n${A}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;x=\x01\r\nabcde\r\n0\r\n\r\n`,
    hugechunk: `POST /serving-endpoints/fraud-model/invocations HTTP/1.1\r\nHost: x\r\n${A}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nffffffffffffffffff\r\nabc`,
  }
  for (const [name, data] of Object.entries(cases)) {
    const out = await raw(s.gatewayUrl, data, { end: name.startsWith('truncated') })
    console.log('=== ' + name + '\n' + out.slice(0, 600))
  }
  console.log(JSON.stringify(s.emu.stats().invocations))
  console.log(s.logs.filter(l => l.includes('completed') || l.includes('client error')).join('\n'))
})
