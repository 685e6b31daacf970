import t from 'tap'
import { basic, start, tokenRequest } from './helpers/client.js'

const FORM = { grant_type: 'client_credentials', scope: 'all-apis' }

t.test('a token fault answers its status and error with Retry-After, for `times` requests', async t => {
  const emu = await start(t)
  const p = emu.principals[0]!
  const auth = { authorization: basic(p.clientId, p.clientSecret) }
  emu.faults.token({ status: 429, retryAfter: '2', times: 2 })
  for (let i = 0; i < 2; i++) {
    const res = await tokenRequest(emu, FORM, auth)
    t.equal(res.status, 429)
    t.equal(res.headers.get('retry-after'), '2')
    t.same(res.body, { error: 'temporarily_unavailable', error_description: 'Injected fault' })
  }
  t.equal((await tokenRequest(emu, FORM, auth)).status, 200, 'the fault is used up')
  t.equal(emu.stats().tokenRequests, 3)
  t.equal(emu.stats().mints.total, 1)
})

t.test('error and status default from each other', async t => {
  const emu = await start(t)
  const cases: Array<[Parameters<typeof emu.faults.token>[0], number, string]> = [
    [{ error: 'invalid_client' }, 401, 'invalid_client'],
    [{ error: 'temporarily_unavailable' }, 503, 'temporarily_unavailable'],
    [{ error: 'invalid_grant' }, 400, 'invalid_grant'],
    [{ status: 401 }, 401, 'invalid_client'],
    [{ status: 403 }, 403, 'access_denied'],
    [{ status: 503, retryAfter: 'Wed, 21 Oct 2015 07:28:00 GMT' }, 503, 'temporarily_unavailable'],
    [{ status: 500 }, 500, 'server_error'],
    [{ status: 400 }, 400, 'invalid_request'],
    [{ status: 200, error: 'invalid_client' }, 200, 'invalid_client']
  ]
  for (const [fault, status, error] of cases) {
    emu.faults.token(fault)
    const res = await tokenRequest(emu, FORM)
    t.equal(res.status, status, JSON.stringify(fault))
    t.equal(res.body.error, error, JSON.stringify(fault))
    t.equal(res.headers.get('retry-after'), fault.retryAfter ?? null)
  }
  emu.faults.clear()
  t.equal((await tokenRequest(emu, FORM)).body.error, 'invalid_client', 'cleared: real answers again')
})
