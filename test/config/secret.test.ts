import t from 'tap'
import { format, inspect } from 'node:util'
import { join } from 'node:path'
import { renameSync, rmSync, writeFileSync } from 'node:fs'
import { MASK, Secret, trimNewline } from '../../src/config/secret.js'

const VALUE = 'dapi-0123456789abcdef'

t.test('the mask is eight asterisks', async t => {
  t.equal(MASK, '********')
})

t.test('reveal() returns the value; every way of printing it gives the mask', async t => {
  const s = new Secret(VALUE)
  t.equal(s.reveal(), VALUE)
  t.equal(s.reveal(), VALUE, 'repeatable')
  t.equal(String(s), MASK)
  t.equal(s.toString(), MASK)
  t.equal(`${s}`, MASK, 'template literal')
  t.equal('' + s, MASK, 'concatenation')
  t.equal(JSON.stringify(s), JSON.stringify(MASK))
  t.equal(JSON.stringify({ clientSecret: s }), '{"clientSecret":"********"}')
  t.equal(inspect(s), MASK)
  t.equal(inspect({ workspaces: [{ clientSecret: s }] }, { depth: 10 }), '{ workspaces: [ { clientSecret: ******** } ] }')
  t.equal(format('%s %j %o %O', s, s, s, s), `${MASK} "${MASK}" ${MASK} ${MASK}`, 'util.format / console.log')
})

t.test('the value is not reachable through the object', async t => {
  const s = new Secret(VALUE)
  t.same(Object.keys(s), [])
  t.same(Object.getOwnPropertyNames(s), [])
  t.same({ ...s }, {}, 'spreading copies nothing')
  t.same(Object.entries(s), [])
  t.notMatch(inspect(s, { customInspect: false, showHidden: true, depth: 10 }), VALUE, 'not even with custom inspection off')
  t.equal(s.file, undefined, 'no file')
})

t.test('an empty secret is still masked', async t => {
  const s = new Secret('')
  t.equal(s.reveal(), '')
  t.equal(String(s), MASK)
  t.equal(JSON.stringify(s), '"********"')
})

t.test('a file-backed secret is re-read on every reveal, one trailing newline trimmed', async t => {
  const reads: string[] = []
  let content = 'first\n'
  const s = new Secret('initial', { file: '/run/secrets/sp', readFile: (p) => { reads.push(p); return content } })
  t.equal(s.file, '/run/secrets/sp', 'the path is not secret')
  t.same(reads, [], 'not read until revealed')
  t.equal(s.reveal(), 'first', 'the file wins over the value it was made with')
  content = 'rotated\r\n'
  t.equal(s.reveal(), 'rotated', 'a rotation is picked up at once')
  t.same(reads, ['/run/secrets/sp', '/run/secrets/sp'])
  t.equal(String(s), MASK)
  t.equal(JSON.stringify(s), '"********"')
  t.equal(inspect(s), MASK)
})

t.test('an unreadable or empty file keeps the last good value', async t => {
  let mode: 'ok' | 'throw' | 'empty' | 'newline' = 'ok'
  const s = new Secret('initial', {
    file: '/f',
    readFile: () => {
      if (mode === 'throw') throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' })
      if (mode === 'empty') return ''
      if (mode === 'newline') return '\n'
      return 'v1\n'
    }
  })
  mode = 'throw'
  t.equal(s.reveal(), 'initial', 'unreadable from the start: the value it was made with')
  mode = 'ok'
  t.equal(s.reveal(), 'v1')
  mode = 'throw'
  t.equal(s.reveal(), 'v1', 'mid-rotation (file missing): last good value')
  mode = 'empty'
  t.equal(s.reveal(), 'v1', 'truncated (empty): last good value')
  mode = 'newline'
  t.equal(s.reveal(), 'v1', 'only a newline counts as empty')
})

t.test('without readFile, the file is read from disk', async t => {
  const dir = t.testdir({ secret: 'on-disk\n' })
  const path = join(dir, 'secret')
  const s = new Secret('from-config', { file: path })
  t.equal(s.reveal(), 'on-disk')
  writeFileSync(join(dir, 'next'), 'rotated-on-disk\n')
  renameSync(join(dir, 'next'), path)
  t.equal(s.reveal(), 'rotated-on-disk', 'an atomic rename is picked up')
  rmSync(path)
  t.equal(s.reveal(), 'rotated-on-disk', 'a deleted file keeps the last value')
  t.equal(String(s), MASK)
})

t.test('trimNewline removes exactly one trailing LF or CRLF', async t => {
  t.equal(trimNewline('a\n'), 'a')
  t.equal(trimNewline('a\r\n'), 'a')
  t.equal(trimNewline('a'), 'a')
  t.equal(trimNewline('a\n\n'), 'a\n')
  t.equal(trimNewline('a\r\n\r\n'), 'a\r\n')
  t.equal(trimNewline('a\r'), 'a\r', 'a lone CR is kept')
  t.equal(trimNewline('a \n'), 'a ', 'other whitespace is kept')
  t.equal(trimNewline('\na'), '\na')
  t.equal(trimNewline('a\nb\n'), 'a\nb')
  t.equal(trimNewline('\n'), '')
  t.equal(trimNewline(''), '')
})
