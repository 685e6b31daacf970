import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createAuthenticator } from '../../src/callers/identity.js'
import { callerConfig, jwks, jwtConfig, sign, signingKey } from './helpers/idp.js'

t.test('keys come from a JWKS file, re-read after recheckMs when it changed', async t => {
  const oldKey = await signingKey('ES256', 'old')
  const newKey = await signingKey('ES256', 'new')
  const dir = t.testdir({ 'jwks.json': JSON.stringify(jwks(oldKey)) })
  const path = join(dir, 'jwks.json')
  let clock = 1_000_000
  let reads = 0
  const warnings: unknown[] = []
  const auth = createAuthenticator({
    callers: [callerConfig({ name: 'checkout' })],
    jwt: jwtConfig({ jwksFile: path }),
    // Token times are checked against the real clock; the injected one paces file rechecks.
    now: () => Date.now() + clock - 1_000_000,
    jwksFileRecheckMs: 5000,
    readFile: (p) => { reads++; return readFileSync(p, 'utf8') },
    log: { warn: (obj: unknown) => { warnings.push(obj) } }
  })
  t.teardown(() => auth.close())
  const withOld = { authorization: `Bearer ${await sign(oldKey, { sub: 'checkout' })}` }
  const withNew = { authorization: `Bearer ${await sign(newKey, { sub: 'checkout' })}` }
  t.equal(reads, 1, 'read at start')
  t.match(await auth.authenticate({ headers: withOld }), { ok: true, via: 'jwt' })

  writeFileSync(path, JSON.stringify(jwks(newKey)))
  t.same(await auth.authenticate({ headers: withNew }), { ok: false, reason: 'token signed by an unknown key' }, 'not before recheckMs')
  t.equal(reads, 1)
  clock += 5000
  t.match(await auth.authenticate({ headers: withNew }), { ok: true })
  t.same(await auth.authenticate({ headers: withOld }), { ok: false, reason: 'token signed by an unknown key' }, 'old key retired')
  t.equal(reads, 2)

  // A broken new version is reported once and the last good keys stay in use.
  writeFileSync(path, '{"keys": [')
  for (let i = 0; i < 3; i++) {
    clock += 5000
    t.match(await auth.authenticate({ headers: withNew }), { ok: true })
  }
  t.equal(warnings.length, 1)
  t.match(warnings[0], { err: { code: 'ROUTEGATE_ERR_CONFIG', message: `auth.jwt.jwksFile: ${path} is not a JSON Web Key Set` } })
  t.notMatch(JSON.stringify(warnings), /"kty"|"x":/, 'no key material logged')
})

t.test('a missing or invalid JWKS file is a start-up error naming the file', async t => {
  const dir = t.testdir({ 'bad.json': '{"keys": "nope"}' })
  t.throws(() => createAuthenticator({ callers: [callerConfig({ name: 'a' })], jwt: jwtConfig({ jwksFile: join(dir, 'missing.json') }) }),
    { code: 'ROUTEGATE_ERR_CONFIG', message: `auth.jwt.jwksFile: cannot read ${join(dir, 'missing.json')} (ENOENT)` })
  t.throws(() => createAuthenticator({ callers: [callerConfig({ name: 'a' })], jwt: jwtConfig({ jwksFile: join(dir, 'bad.json') }) }),
    { code: 'ROUTEGATE_ERR_CONFIG', message: `auth.jwt.jwksFile: ${join(dir, 'bad.json')} is not a JSON Web Key Set` })
  t.throws(() => createAuthenticator({
    callers: [callerConfig({ name: 'a' })],
    jwt: jwtConfig({ jwksFile: 'x' }),
    readFile: () => { throw new Error('no code') }
  }), { message: 'auth.jwt.jwksFile: cannot read x (error)' })
})

t.test('a file that disappears later keeps the last keys', async t => {
  const key = await signingKey('RS256')
  let clock = 0
  let gone = false
  const auth = createAuthenticator({
    callers: [callerConfig({ name: 'checkout' })],
    jwt: jwtConfig({ jwksFile: '/keys/jwks.json' }),
    now: () => Date.now() + clock,
    readFile: () => {
      if (gone) throw Object.assign(new Error('gone'), { code: 'ENOENT' })
      return JSON.stringify(jwks(key))
    }
  })
  const headers = { authorization: `Bearer ${await sign(key, { sub: 'checkout' })}` }
  gone = true
  clock += 10_000
  t.match(await auth.authenticate({ headers }), { ok: true }, 'no log given: still fine')
})
