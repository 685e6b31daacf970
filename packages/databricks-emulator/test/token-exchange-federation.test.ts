import t from 'tap'
import { startEmulator } from '../src/index.js'
import { jwks, sign, signingKey } from './helpers/idp.js'

const ISSUER = 'https://idp.example'
const AUDIENCE = 'databricks'
const SUBJECT = 'repo:org/app:ref:refs/heads/main'

t.test('the token exchange checks the subject token against the federation policies', async t => {
  const idp = await signingKey()
  const other = await signingKey()
  const emu = await startEmulator({ federationPolicies: [{ issuer: ISSUER, audience: AUDIENCE, subject: SUBJECT, jwks: jwks(idp) }] })
  t.teardown(() => emu.close())
  const now = Math.floor(Date.now() / 1000)
  const exchange = async (fields: Record<string, string>) => {
    const res = await fetch(`${emu.url}/oidc/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', scope: 'all-apis', ...fields }).toString()
    })
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  }
  const good = await sign(idp, { sub: SUBJECT, iss: ISSUER, aud: AUDIENCE, exp: now + 600 })
  const ok = await exchange({ subject_token: good })
  t.equal(ok.status, 200)
  t.type(ok.body.access_token, 'string')
  t.ok((ok.body.expires_in as number) <= 600 && (ok.body.expires_in as number) > 590, `lifetime follows the subject token (${String(ok.body.expires_in)} s)`)

  const cases: Array<[string, Record<string, string>, string]> = [
    ['wrong token type', { subject_token: good, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' }, 'invalid_request'],
    ['missing subject token', {}, 'invalid_request'],
    ['no all-apis scope', { subject_token: good, scope: 'sql' }, 'invalid_scope'],
    ['unknown client', { subject_token: good, client_id: 'nobody' }, 'invalid_client'],
    ['expired', { subject_token: await sign(idp, { sub: SUBJECT, iss: ISSUER, aud: AUDIENCE, exp: now - 60 }) }, 'invalid_grant'],
    ['other issuer', { subject_token: await sign(idp, { sub: SUBJECT, iss: 'https://evil.example', aud: AUDIENCE }) }, 'invalid_grant'],
    ['other audience', { subject_token: await sign(idp, { sub: SUBJECT, iss: ISSUER, aud: 'someone-else' }) }, 'invalid_grant'],
    ['other subject', { subject_token: await sign(idp, { sub: 'repo:org/evil', iss: ISSUER, aud: AUDIENCE }) }, 'invalid_grant'],
    ['wrong signature', { subject_token: await sign(other, { sub: SUBJECT, iss: ISSUER, aud: AUDIENCE }) }, 'invalid_grant']
  ]
  for (const [name, fields, error] of cases) {
    const r = await exchange(fields)
    t.equal(r.body.error, error, name)
    t.notMatch(JSON.stringify(r.body), good.split('.')[2] ?? '', `${name}: the token is not echoed`)
  }
})
