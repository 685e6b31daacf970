// Workload identity federation end to end: a subject-token file instead of a client secret,
// exchanged at the emulator's token endpoint (RFC 8693), then per-endpoint scoped tokens.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { jwks, sign, signingKey } from '../callers/helpers/idp.js'
import { fakeClock, sleep, startStack } from '../helpers/stack.js'

const ISSUER = 'https://kubernetes.default.svc'
const AUDIENCE = 'databricks'
const SUBJECT = 'system:serviceaccount:ml:routegate'

t.test('federation: no client secret anywhere; the subject token file is re-read at each exchange; bad ones are a clear 503', async t => {
  const idp = await signingKey('RS256')
  const rogue = await signingKey('RS256')
  const dir = mkdtempSync(join(tmpdir(), 'routegate-federation-'))
  const file = join(dir, 'token')
  // One fake clock for the emulator (token lifetimes, subject token expiry) and the gateway: the
  // test moves it past the held tokens' 3 s lifetime instead of sleeping.
  const clock = fakeClock()
  const now = (): number => Math.floor(clock.now() / 1000)
  const token = async (opts: { key?: typeof idp, exp?: number } = {}): Promise<string> =>
    await sign(opts.key ?? idp, { sub: SUBJECT, iss: ISSUER, aud: AUDIENCE, exp: opts.exp ?? now() + 3600 })
  const written: string[] = []
  const write = (jwt: string): void => { written.push(jwt); writeFileSync(file, `${jwt}\n`) }
  write(await token())

  const s = await startStack(t, {
    now: clock.now,
    // Short workspace and scoped tokens, so the gateway exchanges again within the test.
    emulator: { tokenTtlSeconds: 3, federationPolicies: [{ issuer: ISSUER, audience: AUDIENCE, subject: SUBJECT, jwks: jwks(idp) as unknown as { keys: Array<Record<string, unknown>> } }] },
    config: (doc) => {
      doc.tokens.credentialBackoffMaxMs = 1000
      doc.tokens.backoffMaxMs = 1000
      for (const w of doc.workspaces) {
        delete w.clientSecret
        delete w.clientId
        w.grant = 'federation'
        w.subjectTokenFile = file
      }
    },
    secrets: () => written
  })
  t.notMatch(JSON.stringify(s.config.workspaces), /clientSecret":"/, 'no client secret in the config')
  const ok = await s.invoke('fraud-model')
  t.equal(ok.status, 200, 'served with a federated token')
  t.ok(s.emu.mintsFor('fraud-model') >= 1, 'scoped token minted from the exchanged workspace token')

  for (const [name, bad] of [['expired', await token({ exp: now() - 60 })], ['signed by another key', await token({ key: rogue })]] as const) {
    write(bad)
    // Wait out the held tokens (3 s lifetime), then ask until the gateway must exchange again.
    let r = await s.invoke('fraud-model')
    for (let i = 0; i < 40 && r.status === 200; i++) {
      clock.advance(200)
      r = await s.invoke('fraud-model')
    }
    t.equal(r.status, 503, `${name}: no token`)
    t.equal(r.json().error_code, 'TOKEN_UNAVAILABLE')
    t.match(r.json().message, /\(invalid_grant\)$/, `${name}: the OAuth error is named`)
    t.notMatch(r.text, bad.slice(0, 40), `${name}: the subject token is not`)
    const readyz = await (await request(`${s.adminUrl}/readyz`)).body.text()
    t.notMatch(readyz, bad.slice(0, 40), `${name}: nor in /readyz`)
    // A rotated, valid file is picked up at the next exchange.
    write(await token())
    let back = await s.invoke('fraud-model')
    for (let i = 0; i < 30 && back.status !== 200; i++) {
      clock.advance(200)
      back = await s.invoke('fraud-model')
    }
    t.equal(back.status, 200, `${name}: recovered with the rotated file, no restart`)
  }
  await sleep(50)
  for (const jwt of written) t.notMatch(s.logs.join('\n'), jwt.split('.')[2] ?? jwt, 'no subject token signature in any log line')
})

t.test('config: federation needs a subject token file and takes no secret; the other grants need both', async t => {
  const { parseConfig } = await import('../../src/config/load.js')
  const base = (ws: Record<string, unknown>) => ({
    workspaces: [{ name: 'w', host: 'https://w.example', ...ws }],
    endpoints: [{ name: 'e', workspace: 'w', url: 'https://0123abcd.serving.example/ws/serving-endpoints/e/invocations' }],
    callers: [{ name: 'c', keySha256: 'a'.repeat(64), endpoints: ['*'] }]
  })
  t.doesNotThrow(() => parseConfig(base({ grant: 'federation', subjectTokenFile: '/var/run/secrets/tokens/databricks' }), { env: {} }))
  t.doesNotThrow(() => parseConfig(base({ grant: 'federation', clientId: 'sp-1', subjectTokenFile: '/t' }), { env: {} }), 'clientId is optional')
  t.throws(() => parseConfig(base({ grant: 'federation' }), { env: {} }), { message: /subjectTokenFile: required/ })
  t.throws(() => parseConfig(base({ grant: 'federation', subjectTokenFile: '/t', clientSecret: 's3cret-value' }), { env: {} }), { message: /clientSecret: not used/ })
  t.throws(() => parseConfig(base({ clientId: 'x' }), { env: {} }), { message: /clientSecret: required/ })
  t.throws(() => parseConfig(base({ clientId: 'x', clientSecret: 'y', subjectTokenFile: '/t' }), { env: {} }), { message: /subjectTokenFile: only with grant: federation/ })
})
