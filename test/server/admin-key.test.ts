// admin.keySha256: every admin route but the probes needs the bearer key; the probes stay open.
import t from 'tap'
import { request } from 'undici'
import { sha256Hex } from '../../src/callers/keys.js'
import { adminKeyMatches } from '../../src/server/admin.js'
import { startStack } from '../helpers/stack.js'
import { runToken } from '../../src/cli/commands/token.js'
import type { CommandIO } from '../../src/cli/commands/endpoints.js'

const KEY = 'rgk_admin_key_for_prometheus_0123456789abcdef'

t.test('adminKeyMatches: Bearer and the right key only', async t => {
  const digest = sha256Hex(KEY)
  t.equal(adminKeyMatches(`Bearer ${KEY}`, digest), true)
  t.equal(adminKeyMatches(`bearer ${KEY}`, digest), true, 'the scheme is case-insensitive')
  t.equal(adminKeyMatches(`Bearer ${KEY}x`, digest), false)
  t.equal(adminKeyMatches(KEY, digest), false, 'no scheme')
  t.equal(adminKeyMatches(`Basic ${KEY}`, digest), false)
  t.equal(adminKeyMatches(undefined, digest), false)
  t.equal(adminKeyMatches('Bearer ', digest), false)
  t.equal(adminKeyMatches('Bearer ', sha256Hex('')), false, 'an empty key never matches')
})

t.test('with admin.keySha256, /metrics and /tokens need the key; /healthz and /readyz do not', async t => {
  const s = await startStack(t, { config: (doc) => { doc.admin.keySha256 = sha256Hex(KEY) } })
  const get = async (path: string, key?: string): Promise<{ status: number, body: string, auth: unknown }> => {
    const r = await request(`${s.adminUrl}${path}`, { headers: key === undefined ? {} : { authorization: `Bearer ${key}` } })
    return { status: r.statusCode, body: await r.body.text(), auth: r.headers['www-authenticate'] }
  }
  for (const path of ['/metrics', '/tokens', '/tokens/fraud-model', '/nope', '/metrics?x=1']) {
    const no = await get(path)
    t.equal(no.status, 401, `${path} without the key`)
    t.same(JSON.parse(no.body).error_code, 'UNAUTHENTICATED')
    t.match(no.auth, /^Bearer /)
    t.equal((await get(path, 'rgk_wrong_key_0123456789abcdef0123456789')).status, 401, `${path} with a wrong key`)
  }
  const ok = await get('/metrics', KEY)
  t.equal(ok.status, 200)
  t.match(ok.body, /routegate_/)
  t.equal((await get('/tokens', KEY)).status, 200)
  t.equal((await get('/healthz')).status, 200, '/healthz stays open')
  t.not((await get('/readyz')).status, 401, '/readyz stays open')
  t.notMatch(JSON.stringify(await get('/metrics')), KEY, 'the key is never echoed')

  // `routegate token --admin` sends the key from ROUTEGATE_ADMIN_KEY.
  const out: string[] = []
  const io = (env: Record<string, string>): CommandIO => ({ out: (x) => { out.push(x) }, err: () => {}, env, now: () => performance.now(), sleep: async () => {} })
  t.equal(await runToken(['fraud-model', '--admin', s.adminUrl, '--json'], io({ ROUTEGATE_ADMIN_KEY: KEY })), 0)
  t.match(JSON.parse(out.join('')), { endpoint: 'fraud-model' })
  await t.rejects(runToken(['fraud-model', '--admin', s.adminUrl], io({})), /401|UNAUTHENTICATED|admin key/)
})

t.test('without admin.keySha256 the admin routes stay open (as before)', async t => {
  const s = await startStack(t)
  const r = await request(`${s.adminUrl}/metrics`)
  t.equal(r.statusCode, 200)
  await r.body.dump()
})
