import t, { type Test } from 'tap'
import { interpolate, wholeFileRef, type InterpolateDeps } from '../../src/config/interpolate.js'

const SECRET = 's3cr3t-value'

/** Env and files from plain objects; records every file read. */
function deps (env: Record<string, string | undefined> = {}, files: Record<string, string> = {}) {
  const reads: string[] = []
  const d: InterpolateDeps = {
    env,
    readFile: (p) => {
      reads.push(p)
      const text = files[p]
      if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), { code: 'ENOENT' })
      return text
    }
  }
  return { d, reads }
}

/** The ConfigError thrown by `fn`, checked to be one. */
function configError (t: Test, fn: () => unknown): Error & { code?: string } {
  const err = t.throws(fn) as Error & { code?: string }
  t.equal(err.code, 'ROUTEGATE_ERR_CONFIG')
  return err
}

t.test('${env:NAME} is replaced by the variable, anywhere in a string', async t => {
  const { d } = deps({ HOST: 'adb-1.azuredatabricks.net', PORT: '8443' })
  t.equal(interpolate('${env:HOST}', d), 'adb-1.azuredatabricks.net')
  t.equal(interpolate('https://${env:HOST}:${env:PORT}/oidc', d), 'https://adb-1.azuredatabricks.net:8443/oidc')
  t.equal(interpolate('${env:PORT}${env:PORT}', d), '84438443', 'adjacent references')
})

t.test('an empty variable is set: it interpolates to the empty string', async t => {
  const { d } = deps({ EMPTY: '' })
  t.equal(interpolate('a${env:EMPTY}b', d), 'ab')
})

t.test('${file:PATH} is replaced by the file, one trailing newline trimmed', async t => {
  const { d, reads } = deps({}, {
    '/run/secrets/lf': `${SECRET}\n`,
    '/run/secrets/crlf': `${SECRET}\r\n`,
    '/run/secrets/bare': SECRET,
    '/run/secrets/two': `${SECRET}\n\n`,
    '/run/secrets/inner': 'line1\nline2\n',
    '/run/secrets/lead': `\n${SECRET}`
  })
  t.equal(interpolate('${file:/run/secrets/lf}', d), SECRET)
  t.equal(interpolate('${file:/run/secrets/crlf}', d), SECRET, 'CRLF too')
  t.equal(interpolate('${file:/run/secrets/bare}', d), SECRET)
  t.equal(interpolate('${file:/run/secrets/two}', d), `${SECRET}\n`, 'only one newline trimmed')
  t.equal(interpolate('${file:/run/secrets/inner}', d), 'line1\nline2', 'inner newlines kept')
  t.equal(interpolate('${file:/run/secrets/lead}', d), `\n${SECRET}`, 'a leading newline kept')
  t.equal(interpolate('Bearer ${file:/run/secrets/lf}!', d), `Bearer ${SECRET}!`, 'inside a longer string')
  t.same(reads, ['/run/secrets/lf', '/run/secrets/crlf', '/run/secrets/bare', '/run/secrets/two',
    '/run/secrets/inner', '/run/secrets/lead', '/run/secrets/lf'], 'the path is passed as written')
})

t.test('env and file references mix in one string', async t => {
  const { d } = deps({ USER: 'svc' }, { '/p': 'pw\n' })
  t.equal(interpolate('${env:USER}:${file:/p}', d), 'svc:pw')
})

t.test('substituted values are not interpolated again', async t => {
  const { d, reads } = deps({ A: '${env:B}', B: 'nope', F: '${file:/etc/shadow}' }, { '/x': '${env:B}\n' })
  t.equal(interpolate('${env:A}', d), '${env:B}')
  t.equal(interpolate('${env:F}', d), '${file:/etc/shadow}')
  t.equal(interpolate('${file:/x}', d), '${env:B}')
  t.same(reads, ['/x'], 'a file named inside a value is never read')
})

t.test('a missing variable is a ConfigError naming the field and the variable, not the values', async t => {
  const { d } = deps({ PRESENT: SECRET })
  const err = configError(t, () => interpolate({ workspaces: [{ clientId: '${env:PRESENT}', clientSecret: '${env:SP_SECRET}' }] }, d))
  t.equal(err.message, 'workspaces[0].clientSecret: environment variable SP_SECRET is not set')
  t.notMatch(err.message, SECRET)
  const undef = deps({ GONE: undefined })
  t.match(configError(t, () => interpolate({ x: '${env:GONE}' }, undef.d)).message, /^x: environment variable GONE is not set$/,
    'a variable present but undefined counts as missing')
})

t.test('an unreadable file is a ConfigError naming the field, the path and the code only', async t => {
  const { d } = deps()
  const err = configError(t, () => interpolate({ workspaces: [{ clientSecret: '${file:/run/secrets/sp}' }] }, d))
  t.equal(err.message, 'workspaces[0].clientSecret: cannot read file /run/secrets/sp (ENOENT)')
  t.notMatch(err.message, 'no such file', 'the underlying message is not copied')
  const noCode: InterpolateDeps = { env: {}, readFile: () => { throw new Error(`garbled ${SECRET}`) } }
  const err2 = configError(t, () => interpolate({ a: { b: 'x${file:/f}' } }, noCode))
  t.equal(err2.message, 'a.b: cannot read file /f (error)', 'no code: a generic word, not the error text')
  t.notMatch(err2.message, SECRET)
})

t.test('the first failing reference stops interpolation', async t => {
  const { d, reads } = deps({}, { '/b': 'b' })
  configError(t, () => interpolate(['${env:NOPE}', '${file:/b}'], d))
  t.same(reads, [], 'later references are not resolved')
})

t.test('error paths: nested objects and arrays; a bare string has an empty path', async t => {
  const { d } = deps()
  t.match(configError(t, () => interpolate({ a: { b: { c: '${env:X}' } } }, d)).message, /^a\.b\.c: /)
  t.match(configError(t, () => interpolate({ list: ['ok', ['ok', '${env:X}']] }, d)).message, /^list\[1\]\[1\]: /)
  t.match(configError(t, () => interpolate([{ k: '${env:X}' }], d)).message, /^\[0\]\.k: /)
  t.match(configError(t, () => interpolate('${env:X}', d)).message, /^: environment variable X is not set$/)
  t.match(configError(t, () => interpolate({ s: '${env:X}' }, d, 'root')).message, /^root\.s: /, 'an explicit base path')
})

t.test('nested objects and arrays are copied with every string resolved', async t => {
  const { d } = deps({ ID: 'client-1', HOST: 'h.example' }, { '/s': `${SECRET}\n` })
  const input = {
    workspaces: [{ name: 'prod', host: 'https://${env:HOST}', clientId: '${env:ID}', clientSecret: '${file:/s}' }],
    server: { port: 8080, tls: false, note: null },
    list: [['${env:ID}', 1], []]
  }
  const before = structuredClone(input)
  const out = interpolate(input, d)
  t.same(out, {
    workspaces: [{ name: 'prod', host: 'https://h.example', clientId: 'client-1', clientSecret: SECRET }],
    server: { port: 8080, tls: false, note: null },
    list: [['client-1', 1], []]
  })
  t.same(input, before, 'the input is not modified')
  t.not(out, input, 'a copy')
  t.not((out as typeof input).server, input.server, 'a deep copy')
  t.ok(Array.isArray((out as typeof input).list), 'arrays stay arrays')
})

t.test('non-string scalars pass through unchanged', async t => {
  const { d } = deps()
  for (const v of [42, 0, true, false, null, undefined]) t.equal(interpolate(v, d), v, String(v))
})

t.test('strings without references are unchanged and read nothing', async t => {
  const { d, reads } = deps({ X: 'x' })
  for (const s of ['', 'plain', 'cost: $5', '$HOME', '{env:X}', '$ {env:X}', 'env:X', '${env:X']) {
    t.equal(interpolate(s, d), s, JSON.stringify(s))
  }
  t.same(reads, [])
})

t.test('malformed references are left as written, not resolved or rejected', async t => {
  const { d, reads } = deps({ X: 'x', '': 'empty-name' })
  const malformed = [
    '${env:}', // no name
    '${file:}', // no path
    '${ENV:X}', // kinds are lower case
    '${Env:X}',
    '${secret:X}', // unknown kind
    '${env X}', // no colon
    '${env:X', // unclosed
    '$env:X}', // no brace
    '$${env:X'
  ]
  for (const s of malformed) t.equal(interpolate(s, d), s, s)
  t.same(reads, [])
  t.equal(interpolate('$${env:X}', d), '$x', 'a doubled $ is no escape: the reference inside still resolves')
  t.equal(configError(t, () => interpolate({ n: '${env:${env:X}}' }, d)).message, 'n: environment variable ${env:X is not set',
    'no nesting: the name runs from the outer reference to the first }')
})

t.test('a shell-style ${NAME} is refused with the reference to write instead', async t => {
  const { d, reads } = deps({ DATABRICKS_CLIENT_ID: 'id', X: 'x' })
  const cases: Array<[string, string]> = [
    ['${DATABRICKS_CLIENT_ID}', 'DATABRICKS_CLIENT_ID'],
    ['prefix-${X}', 'X'],
    ['${env:X}/${HOME}', 'HOME'],
    ['${PORT:-8080}', 'PORT'],
    ['${_under_score9}', '_under_score9']
  ]
  for (const [s, name] of cases) {
    t.equal(configError(t, () => interpolate({ workspaces: [{ clientId: s }] }, d)).message,
      `workspaces[0].clientId: \${${name}} is not a reference (only \${env:NAME} and \${file:PATH} are): use \${env:${name}}`, s)
  }
  t.same(reads, [])
})

t.test('a ${NAME} inside a value read from a variable or a file is not checked (never interpolated)', async t => {
  const { d } = deps({ SECRET: 'abc${NOT_A_REF}def' }, { '/s': 'x${ALSO_NOT}\n' })
  t.equal(interpolate('${env:SECRET}', d), 'abc${NOT_A_REF}def')
  t.equal(interpolate('${file:/s}', d), 'x${ALSO_NOT}')
})

t.test('names are taken verbatim up to the closing brace', async t => {
  const { d, reads } = deps({ 'WITH SPACE': 'a', ' X': 'b', 'a.b-c': 'c' }, { 'rel/path with space': 'f\n' })
  t.equal(interpolate('${env:WITH SPACE}', d), 'a')
  t.equal(interpolate('${env: X}', d), 'b', 'no trimming')
  t.equal(interpolate('${env:a.b-c}', d), 'c')
  t.equal(interpolate('${file:rel/path with space}', d), 'f')
  t.same(reads, ['rel/path with space'])
  t.equal(interpolate('${env:X}}', deps({ X: 'x' }).d), 'x}', 'the first } ends the reference')
})

t.test('wholeFileRef: the path of a value that is exactly one ${file:...} reference', async t => {
  t.equal(wholeFileRef('${file:/run/secrets/sp}'), '/run/secrets/sp')
  t.equal(wholeFileRef('${file:relative/p}'), 'relative/p')
  t.equal(wholeFileRef('x${file:/p}'), undefined, 'text before')
  t.equal(wholeFileRef('${file:/p}x'), undefined, 'text after')
  t.equal(wholeFileRef(' ${file:/p}'), undefined, 'even whitespace')
  t.equal(wholeFileRef('${file:/a}${file:/b}'), undefined, 'two references')
  t.equal(wholeFileRef('${env:X}'), undefined, 'an env reference')
  t.equal(wholeFileRef('${file:}'), undefined, 'no path')
  t.equal(wholeFileRef('literal'), undefined)
  for (const v of [undefined, null, 42, ['${file:/p}'], { f: '${file:/p}' }]) t.equal(wholeFileRef(v), undefined, JSON.stringify(v))
})

// An own `__proto__` key (which the YAML and JSON parsers do produce) must be copied as a key, so
// validation refuses it as an unknown field, rather than set the copy's prototype.
t.test('an own __proto__ key is copied as a key, not turned into the prototype', async t => {
  const { d } = deps()
  const input = JSON.parse('{"server": {"__proto__": {"port": 1234}}}') as { server: Record<string, unknown> }
  t.same(Object.keys(input.server), ['__proto__'], 'the parser made an own key')
  const out = interpolate(input, d) as { server: Record<string, unknown> }
  t.same(Object.keys(out.server), ['__proto__'], 'still an own key')
  t.equal(Object.getPrototypeOf(out.server), Object.prototype, 'a plain object')
  t.equal(out.server.port, undefined, 'no inherited port')
})
