// The official `openai` npm SDK reading a stream the endpoint cuts in the middle of a `data:`
// line: the gateway withholds the partial event, so the SDK's last chunk is whole and the
// gateway's error event makes it throw APIError (before, it threw SyntaxError on the truncated
// JSON: "Unterminated string in JSON" with LF events, "Expected ',' or '}'" with CRLF ones).
import t from 'tap'
import OpenAI from 'openai'
import type { SseLineEnd } from '@routegate/databricks-emulator'
import { startStack, CALLER_KEY } from '../helpers/stack.js'

for (const sseLineEnd of ['lf', 'crlf'] as SseLineEnd[]) {
  t.test(`${sseLineEnd} events cut mid-line: the SDK gets the whole chunks before the cut, then APIError`, async t => {
    const s = await startStack(t, { emulator: { streamIntervalMs: 5, endpoints: [{ name: 'fraud-model', sseLineEnd }, { name: 'feed-ads' }] } })
    s.emu.faults.dataPlane({ endpoint: 'fraud-model', resetAfterChunks: 3, cutMidEvent: true, times: 1 })
    const ai = new OpenAI({ apiKey: CALLER_KEY, baseURL: `${s.gatewayUrl}/v1`, maxRetries: 0, timeout: 10_000 })
    const stream = await ai.chat.completions.create({ model: 'fraud-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8, stream: true })
    const texts: string[] = []
    const err = await (async () => {
      try {
        for await (const chunk of stream) texts.push(chunk.choices[0]?.delta.content ?? '')
      } catch (e) {
        return e
      }
    })()
    t.same(texts, ['t0', ' t1', ' t2'], 'the three events before the cut, each whole')
    t.ok(err instanceof OpenAI.APIError, `APIError, not ${(err as Error | undefined)?.name}: ${(err as Error | undefined)?.message}`)
    t.notOk(err instanceof SyntaxError)
    t.equal((err as InstanceType<typeof OpenAI.APIError>).code, 'UPSTREAM_UNAVAILABLE')
    t.match((err as Error).message, /connection to the endpoint was reset/)
    t.equal((await s.emu.streamEnded()).state, 'reset', 'the endpoint did cut the stream')
  })
}
