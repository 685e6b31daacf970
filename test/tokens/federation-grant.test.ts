import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Agent } from 'undici'
import { federationGrant } from '../../src/tokens/grants.js'

t.test('the subject token file is bounded: a missing or oversized file is a credential error, never sent', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'routegate-subject-'))
  const huge = join(dir, 'huge')
  writeFileSync(huge, 'x'.repeat(64 * 1024 + 1))
  const dispatcher = new Agent()
  t.teardown(() => dispatcher.close())
  // Nothing listens here: a request that went out would fail differently (temporarily_unavailable).
  const opts = { dispatcher, timeoutMs: 1000, now: Date.now }
  for (const [name, file] of [['over 64 KiB', huge], ['missing', join(dir, 'nope')]] as const) {
    const err = await federationGrant('http://127.0.0.1:9/oidc/v1/token', file, undefined, opts).catch((e: unknown) => e)
    t.match(err, { reason: 'invalid_client', transport: 'SUBJECT_TOKEN_FILE' }, name)
    t.notMatch(String((err as Error).message), 'xxxx', `${name}: no file content in the message`)
  }
})
