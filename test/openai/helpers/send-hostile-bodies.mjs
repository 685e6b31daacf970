// Test helper, run as its own process by big-bodies-route-without-parsing.test.ts, so building
// and sending tens of MiB does not load the process that times another caller's requests.
// Usage: node send-hostile-bodies.mjs <gateway url> <caller key> <model> <limit bytes> [warm-up]
// Sends at once, to /v1/chat/completions: a body 1 KiB under the limit (one long string), one at
// the limit of a million tiny arrays, one at the limit nested a million levels deep, and 15 MiB
// of tiny arrays twice (declared, sent only after 100 Continue; and chunked). The model comes
// last, so all of a body is read before it is known. Prints `sending` when the bodies are built
// and go out, then one JSON line: each answer, and the sha256 of each of the first three bodies
// as they should be forwarded (without `model`).
// With `warm-up`: only the first three shapes at 256 KiB, three times each, one at a time.
import { createHash } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { Readable } from 'node:stream'
import { request } from 'undici'

const [gateway, key, model, limitArg, mode] = process.argv.slice(2)
const limit = Number(limitArg)
const url = `${gateway}/v1/chat/completions`
const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }

/** `{"a":<filler>,"model":"<model>"}` of exactly `size` bytes, and the same less the model. */
function body (size, shape) {
  const tail = `,"model":${JSON.stringify(model)}}`
  const room = size - tail.length - '{"a":'.length
  let filler
  if (shape === 'string') {
    filler = `"${'x'.repeat(room - 2)}"`
  } else if (shape === 'tiny') {
    const n = Math.floor((room - 2) / 3)
    filler = `[${'[],'.repeat(n - 1)}[]${' '.repeat(room - 2 - (3 * n - 1))}]`
  } else {
    const n = Math.floor(room / 2)
    filler = `${'['.repeat(n)}${' '.repeat(room - 2 * n)}${']'.repeat(n)}`
  }
  const json = `{"a":${filler}`
  return { whole: Buffer.from(json + tail), forwarded: Buffer.from(json + '}') }
}

async function send (b) {
  try {
    const res = await request(url, { method: 'POST', headers, body: b })
    return { status: res.statusCode, json: await res.body.json() }
  } catch (err) {
    return { error: err.message } // a refusal may close the connection mid-upload
  }
}

function sendAfterContinue (b) {
  return new Promise((resolve) => {
    let continued = false
    const req = httpRequest(url, { method: 'POST', headers: { ...headers, 'content-length': b.length, expect: '100-continue' } }, (res) => {
      let text = ''
      res.on('data', (c) => { text += c.toString() })
      res.on('end', () => { resolve({ status: res.statusCode, json: JSON.parse(text), continued }) })
    })
    req.on('continue', () => { continued = true; req.end(b) })
    req.on('error', (err) => { resolve({ error: err.message, continued }) })
    req.flushHeaders()
  })
}

const sha = (b) => createHash('sha256').update(b).digest('hex')

if (mode === 'warm-up') {
  for (const shape of ['string', 'tiny', 'deep']) {
    for (let i = 0; i < 3; i++) await send(body(256 * 1024, shape).whole)
  }
  process.stdout.write('{}\n')
} else {
  const near = body(limit - 1024, 'string')
  const tiny = body(limit, 'tiny')
  const deep = body(limit, 'deep')
  const huge = body(15 * 1024 * 1024, 'tiny').whole
  const chunks = function * () { for (let i = 0; i < huge.length; i += 64 * 1024) yield huge.subarray(i, i + 64 * 1024) }
  process.stdout.write('sending\n')
  const [rNear, rTiny, rDeep, rDeclared, rChunked] = await Promise.all([
    send(near.whole), send(tiny.whole), send(deep.whole), sendAfterContinue(huge), send(Readable.from(chunks()))
  ])
  const forwarded = { near: sha(near.forwarded), tiny: sha(tiny.forwarded), deep: sha(deep.forwarded) }
  process.stdout.write(JSON.stringify({ near: rNear, tiny: rTiny, deep: rDeep, declared: rDeclared, chunked: rChunked, forwarded }) + '\n')
}
