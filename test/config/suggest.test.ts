// Unknown config fields suggest the allowed key within two edits.
import t from 'tap'
import { levenshtein, nearestKey } from '../../src/config/suggest.js'
import { parseConfig } from '../../src/config/load.js'

t.test('levenshtein', async t => {
  t.equal(levenshtein('', ''), 0)
  t.equal(levenshtein('kitten', 'sitting'), 3)
  t.equal(levenshtein('port', 'prot'), 2)
  t.equal(levenshtein('abc', 'abcdefgh', 2), 3, 'capped past max')
})

t.test('nearestKey: within 2 edits, the nearest, case-insensitive; nothing otherwise', async t => {
  const keys = ['host', 'port', 'bodyLimitBytes', 'shutdownGraceMs', 'keySha256']
  t.equal(nearestKey('prot', keys), 'port')
  t.equal(nearestKey('hots', keys), 'host')
  t.equal(nearestKey('bodylimitbytes', keys), 'bodyLimitBytes')
  t.equal(nearestKey('keysha256', keys), 'keySha256')
  t.equal(nearestKey('shutdownGraceMs', keys), 'shutdownGraceMs')
  t.equal(nearestKey('shutdownMs', keys), undefined, 'five edits away')
  t.equal(nearestKey('frobnicate', keys), undefined)
  t.equal(nearestKey('x'.repeat(10_000), keys), undefined, 'a huge key is not compared')
})

t.test('config errors carry the suggestion', async t => {
  const doc = {
    server: { prot: 8080 },
    workspaces: [{ name: 'w', host: 'https://h.example', clientId: 'sp', clientSecret: 'x', clientSecrte: 'y' }],
    endpoints: [],
    callers: []
  }
  const err = t.throws(() => parseConfig(doc, { env: {} })) as Error
  t.match(err.message, /server: unknown field 'prot' \(did you mean 'port'\?\)/)
  t.match(err.message, /workspaces\[0\]: unknown field 'clientSecrte' \(did you mean 'clientSecret'\?\)/)
  const far = t.throws(() => parseConfig({ ...doc, server: { frobnicate: 1 }, workspaces: [] }, { env: {} })) as Error
  t.match(far.message, /server: unknown field 'frobnicate'(;|$)/)
  t.notMatch(far.message, /did you mean/)
})
