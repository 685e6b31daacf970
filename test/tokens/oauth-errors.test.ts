import t from 'tap'
import { cleanText, oauthCode, OAUTH_CODES } from '../../src/tokens/oauth-errors.js'

t.test('only codes of the fixed list come out', async t => {
  for (const c of OAUTH_CODES) t.equal(oauthCode(c, 400), c)
  t.equal(oauthCode('Basic c2VjcmV0', 400), 'invalid_request', 'free text is never passed on')
  t.equal(oauthCode(undefined, 503), 'temporarily_unavailable')
  t.equal(oauthCode(undefined, 429), 'temporarily_unavailable')
  t.equal(oauthCode('weird', 500), 'server_error')
  t.equal(oauthCode(42, 401), 'invalid_request')
  t.equal(oauthCode(undefined, 200), 'server_error')
})

t.test('log text: secrets masked in every form they travel in, controls removed, cut to 200', async t => {
  const secret = 'dose/s3cr3t+value'
  const basic = Buffer.from(`client:${secret}`).toString('base64')
  const text = `echo ${secret} and ${encodeURIComponent(secret)} and ${Buffer.from(secret).toString('base64')} and Basic ${basic}\r\nX-Injected: 1`
  const out = cleanText(text, [secret, basic])
  t.notMatch(out, secret)
  t.notMatch(out, encodeURIComponent(secret))
  t.notMatch(out, basic)
  t.notMatch(out, /[\r\n]/)
  t.match(out, 'echo ******** and ******** and ******** and Basic ******** X-Injected: 1')
  t.equal(cleanText('x'.repeat(500), []).length, 200)
  t.equal(cleanText(`${'y'.repeat(195)}${secret}`, [secret]), `${'y'.repeat(195)}*****`, 'masked before cut: no half secret')
  t.equal(cleanText('ab', ['ab']), 'ab', 'too short to be a secret worth masking')
})
