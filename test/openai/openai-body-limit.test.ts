// server.openaiBodyLimitBytes: its default and bounds, and what the OpenAI routes read before
// routing (declared and chunked), with the endpoint's own bodyLimitBytes applying after.
import t from 'tap'
import { Readable } from 'node:stream'
import { request } from 'undici'
import { parseConfig } from '../../src/config/load.js'
import { startStack, CALLER_KEY } from '../helpers/stack.js'

const doc = (server: Record<string, unknown>): unknown => ({
  server,
  workspaces: [{ name: 'prod', host: 'https://adb-1.7.azuredatabricks.net/', clientId: 'sp-id', clientSecret: 'x' }],
  endpoints: [{ name: 'fraud', workspace: 'prod', url: 'https://abc.7.serving.azuredatabricks.net/1/serving-endpoints/fraud/invocations' }],
  callers: [{ name: 'checkout', keySha256: 'a'.repeat(64), endpoints: ['fraud'] }]
})

t.test('defaults to 4 MiB; at least 1 byte, at most 1 GiB', async t => {
  t.equal(parseConfig(doc({}), { env: {} }).server.openaiBodyLimitBytes, 4 * 1024 * 1024)
  t.equal(parseConfig(doc({ openaiBodyLimitBytes: 1024 }), { env: {} }).server.openaiBodyLimitBytes, 1024)
  for (const bad of [0, 1024 * 1024 * 1024 + 1, 1.5, 'lots']) {
    t.throws(() => parseConfig(doc({ openaiBodyLimitBytes: bad }), { env: {} }), { code: 'ROUTEGATE_ERR_CONFIG', message: /openaiBodyLimitBytes/ }, String(bad))
  }
})

t.test('the OpenAI routes read at most openaiBodyLimitBytes before routing, then the endpoint\'s own limit applies', async t => {
  const s = await startStack(t, {
    config: (d) => {
      d.server.openaiBodyLimitBytes = 2048
      // fraud-model takes more than the routes read; feed-ads less.
      for (const e of d.endpoints) e.bodyLimitBytes = e.name === 'fraud-model' ? 8192 : 1024
    }
  })
  const chat = (model: string, size: number): string => {
    const head = JSON.stringify({ model, max_tokens: 1, messages: [{ role: 'user', content: '' }] })
    return head.replace('"content":""', `"content":"${'x'.repeat(size - head.length)}"`)
  }
  async function post (body: string | Readable): Promise<{ status: number, code?: string }> {
    try {
      const res = await request(`${s.gatewayUrl}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json' }, body
      })
      const json = await res.body.json() as { error_code?: string }
      return { status: res.statusCode, code: json.error_code }
    } catch {
      return { status: 413, code: 'PAYLOAD_TOO_LARGE' } // the gateway closed the connection mid-upload after answering
    }
  }
  t.same(await post(chat('fraud-model', 2048)), { status: 200, code: undefined }, 'a body at the limit is routed')
  t.same(await post(chat('fraud-model', 2049)), { status: 413, code: 'PAYLOAD_TOO_LARGE' }, 'one byte over, declared: refused before routing, though the endpoint takes 8 KiB')
  const chunked = chat('fraud-model', 5000)
  t.same(await post(Readable.from([chunked.slice(0, 1500), chunked.slice(1500, 3000), chunked.slice(3000)])), { status: 413, code: 'PAYLOAD_TOO_LARGE' }, 'chunked: cut off at the limit')
  t.same(await post(chat('feed-ads', 1500)), { status: 413, code: 'PAYLOAD_TOO_LARGE' }, 'under the routes\' limit, over the endpoint\'s own')
  t.same(await post(chat('no-such-endpoint', 2048)), { status: 404, code: 'ENDPOINT_NOT_FOUND' }, 'an unknown model at the limit is a 404')
  t.equal(Object.values(s.emu.stats().invocations['fraud-model'] ?? {}).reduce((a, b) => a + b, 0), 1, 'only the first request went upstream')
})
