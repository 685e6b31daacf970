import t from 'tap'
import { createAuthenticator } from '../../src/callers/identity.js'
import { sha256Hex } from '../../src/callers/keys.js'
import { callerConfig } from './helpers/idp.js'

const OLD = 'rgk_old-key'
const NEW = 'rgk_new-key'
const OTHER = 'rgk_other'
const callers = [
  callerConfig({ name: 'checkout', keySha256: [sha256Hex(OLD), sha256Hex(NEW)], endpoints: ['fraud'] }),
  callerConfig({ name: 'reports', keySha256: [sha256Hex(OTHER)] })
]

t.test('Bearer and X-Api-Key both carry the key', async t => {
  const auth = createAuthenticator({ callers })
  t.teardown(() => auth.close())
  const bearer = await auth.authenticate({ headers: { authorization: `Bearer ${OTHER}` } })
  t.match(bearer, { ok: true, via: 'key', caller: { name: 'reports' } })
  const apiKey = await auth.authenticate({ headers: { 'x-api-key': OTHER } })
  t.match(apiKey, { ok: true, via: 'key', caller: { name: 'reports' } })
})

t.test('two keys of one caller are both valid (rotation)', async t => {
  const auth = createAuthenticator({ callers })
  for (const [i, key] of [OLD, NEW].entries()) {
    const r = await auth.authenticate({ headers: { authorization: `Bearer ${key}` } })
    t.ok(r.ok && r.caller.name === 'checkout', key)
    t.match(r, { keyIndex: i }, 'which of the two keys, for the access log')
    // One Caller object per name, whatever the key.
    if (r.ok) t.same([...r.caller.endpoints], ['fraud'])
  }
})

t.test('the Bearer scheme is case-insensitive', async t => {
  const auth = createAuthenticator({ callers })
  for (const scheme of ['bearer', 'BEARER', 'Bearer', 'bEaReR']) {
    const r = await auth.authenticate({ headers: { authorization: `${scheme}   ${NEW} ` } })
    t.equal(r.ok, true, scheme)
  }
})

t.test('unknown keys, empty values and other schemes are refused with a reason', async t => {
  const auth = createAuthenticator({ callers })
  const cases: Array<[Record<string, string>, string]> = [
    [{ authorization: 'Bearer rgk_nope' }, 'unknown caller key'],
    [{ 'x-api-key': 'rgk_nope' }, 'unknown caller key'],
    [{}, 'missing caller credentials'],
    [{ authorization: '' }, 'missing caller credentials'],
    [{ 'x-api-key': '' }, 'missing caller credentials'],
    [{ authorization: '', 'x-api-key': '' }, 'missing caller credentials'],
    [{ authorization: 'Bearer' }, 'Authorization header must be "Bearer <credential>"'],
    [{ authorization: 'Bearer ' }, 'Authorization header must be "Bearer <credential>"'],
    [{ authorization: `Basic ${Buffer.from(`u:${OLD}`).toString('base64')}` }, 'Authorization header must be "Bearer <credential>"'],
    [{ authorization: `Bearer ${OLD} extra` }, 'Authorization header must be "Bearer <credential>"'],
    // Dotted values that are not JWTs (no JSON header, no alg) are keys.
    [{ authorization: 'Bearer bm9wZQ.e30.c2ln' }, 'unknown caller key'],
    [{ authorization: 'Bearer e30.e30.c2ln' }, 'unknown caller key'],
    // Authorization decides alone: a good X-Api-Key does not rescue a bad bearer.
    [{ authorization: 'Bearer rgk_nope', 'x-api-key': OLD }, 'unknown caller key']
  ]
  for (const [headers, reason] of cases) {
    const r = await auth.authenticate({ headers })
    t.same(r, { ok: false, reason }, JSON.stringify(headers))
  }
})

t.test('a JWT-shaped value without auth.jwt is still tried as a key', async t => {
  const jwtShaped = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'
  const auth = createAuthenticator({ callers: [callerConfig({ name: 'odd', keySha256: [sha256Hex(jwtShaped)] })] })
  t.match(await auth.authenticate({ headers: { authorization: `Bearer ${jwtShaped}` } }), { ok: true, caller: { name: 'odd' } })
  t.same(await auth.authenticate({ headers: { authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln' } }),
    { ok: false, reason: 'JWT credentials are not accepted (auth.jwt is not configured)' })
})
