import { Readable } from 'node:stream'
import t from 'tap'
import { limitedFetch } from '../../src/callers/jwks.js'
import { BodyTooLarge } from '../../src/errors.js'
import { readLimited } from '../../src/io/read-limited.js'

t.test('reads a body up to the cap; past it, stops reading and fails', async t => {
  t.equal(await readLimited(Readable.from([Buffer.from('{"a":'), Buffer.from('1}')]), 16), '{"a":1}')
  let produced = 0
  async function * endless (): AsyncGenerator<Buffer> {
    for (;;) {
      produced++
      yield Buffer.alloc(64 * 1024, 'x')
    }
  }
  const source = Readable.from(endless())
  const err = await readLimited(source, 1024 * 1024).catch((e: unknown) => e)
  t.type(err, BodyTooLarge)
  t.equal((err as BodyTooLarge).limit, 1024 * 1024)
  t.ok(produced <= 20, `stopped after ${produced} chunks of 64 KiB`)
  t.ok(source.destroyed, 'the source is destroyed, not drained')
})

t.test('the JWKS fetch refuses an answer over 1 MiB', async t => {
  const init = { headers: new Headers(), method: 'GET' as const, redirect: 'manual' as const, signal: new AbortController().signal }
  const small = limitedFetch(async () => new Response('{"keys":[]}', { status: 200, headers: { 'content-type': 'application/json' } }))
  const ok = await small('https://idp.test/jwks', init)
  t.same(await ok.json(), { keys: [] })
  t.equal(ok.headers.get('content-type'), 'application/json')
  const huge = limitedFetch(async () => new Response(Readable.toWeb(Readable.from((function * () { for (let i = 0; i < 64; i++) yield Buffer.alloc(64 * 1024, ' ') })())) as ReadableStream, { status: 200 }))
  await t.rejects(huge('https://idp.test/jwks', init), BodyTooLarge)
})
