// Pure: the linear JSON object scanner agrees with JSON.parse on what is JSON and what is an
// object, finds the last top-level member, and cuts it out byte for byte, however the body is
// split into chunks and whatever its shape. No timing here: the shapes that made JSON.parse
// slow are checked for their results (the full-stack test bounds what callers see).
import t from 'tap'
import { assemble, ObjectScanner, type ScanResult } from '../../src/server/json-scan.js'

function scan (body: Buffer, chunk = 0, name = 'model'): { r: ScanResult, out: string } {
  const s = new ObjectScanner({ name })
  if (chunk === 0) s.write(body)
  else for (let i = 0; i < body.length; i += chunk) s.write(body.subarray(i, i + chunk))
  const r = s.end()
  return { r, out: assemble(body, r).toString() }
}

function reference (text: string): 'object' | 'not-object' | 'invalid' {
  try {
    const v: unknown = JSON.parse(text)
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? 'object' : 'not-object'
  } catch {
    return 'invalid'
  }
}

const VERDICTS = [
  '', ' ', '{}', ' {} \n', '[]', '1', '-0', '-01', '01', '1.', '1.5e', '1.5e+3', '1E3', '-0.0e-0', '1e', '-', '+1', '.5',
  'tru', 'true', 'nul', 'null ', 'false', 'falsey', '"a', '"a\\x"', '"\\u12G4"', '"\\u1234"', '"\\"', '"\u0001"', '"é"',
  '{"a":1,}', '[1,]', '{"a" 1}', '{"a":1 "b":2}', '{,}', '{"a"}', '{"a":}', '{1:2}', '[[[]]]', '[[[]]', '[[]]]', '{"a":[1,{"b":[]}]}',
  '\ufeff{}', '{} x', '{}{}', '[1 2]', '{"a":1}]', '{"a":[}', '{"a":{]}', '[{"a":1},{"b":[true,false,null]}]', '{"a":"\\/\\b\\f\\n\\r\\t"}',
  '{"a":1e400,"b":-12345678901234567890.5E-7}', '{"a":0,"b":-0}', '{"a":00}', '{"a":1.e5}', '{"a":\t1\r\n}', '{"a":\u00a01}'
]

t.test('agrees with JSON.parse on what is JSON and what is an object, whole or a byte at a time', async t => {
  for (const text of VERDICTS) {
    for (const chunk of [0, 1, 2, 3, 7]) {
      t.equal(scan(Buffer.from(text), chunk).r.verdict, reference(text), `${JSON.stringify(text)} in chunks of ${chunk}`)
    }
  }
})

t.test('agrees with JSON.parse on generated and mutated bodies', async t => {
  // A seeded generator: the same bodies every run.
  let seed = 42
  const rand = (n: number): number => { // mulberry32
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) % n
  }
  const value = (depth: number): string => {
    const k = rand(depth > 3 ? 5 : 8)
    if (k === 0) return String(rand(1000) - 500) + (rand(2) === 0 ? '' : '.25e-2')
    if (k === 1) return JSON.stringify(['x', 'é', 'a"b', 'line\n', '\u2028', '😀'][rand(6)])
    if (k === 2) return ['true', 'false', 'null'][rand(3)] as string
    if (k === 3 || k === 4) return '"model"'
    if (k === 5) return `[${Array.from({ length: rand(4) }, () => value(depth + 1)).join(rand(3) === 0 ? ' , ' : ',')}]`
    return `{${Array.from({ length: rand(4) }, () => `${['"model"', '"a"', '"mo\\u0064el"', '"b c"'][rand(4)]}:${value(depth + 1)}`).join(',')}}`
  }
  const mutations = ['', '"', ',', '}', ']', '{', '[', ':', '\\', '0', 'e', '-', ' ', '\u0000']
  let agreed = 0
  for (let n = 0; n < 1500; n++) {
    let text = `{${Array.from({ length: rand(5) }, () => `${['"model"', '"a"', '"mo\\u0064el"', '"z"'][rand(4)]}${[':', ' : '][rand(2)]}${value(1)}`).join([',', ', ', ' ,\n'][rand(3)])}}`
    if (rand(2) === 0) {
      const at = rand(text.length + 1)
      text = text.slice(0, at) + (mutations[rand(mutations.length)] as string) + text.slice(at + rand(2))
    }
    // What the gateway gets is bytes: a split surrogate pair arrives as U+FFFD.
    text = Buffer.from(text).toString('utf8')
    const { r, out } = scan(Buffer.from(text), 1 + rand(5))
    // Names are JSON-quoted and ASCII: a raw newline or U+2028 in one would break tap's output.
    const name = JSON.stringify(text).replace(/[^\x20-\x7e]/g, ch => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
    const want = reference(text)
    if (r.verdict !== want) { t.fail(`${name}: ${r.verdict}, JSON.parse says ${want}`); continue }
    if (want === 'object') {
      const parsed = JSON.parse(text) as Record<string, unknown>
      const model = Object.hasOwn(parsed, 'model') ? parsed.model : undefined
      t.same(r.member, model === undefined ? { kind: 'missing' } : typeof model === 'string' ? { kind: 'string', text: model } : { kind: 'other' }, `${name}: member`)
      const rest = Object.fromEntries(Object.entries(parsed).filter(([k]) => k !== 'model'))
      t.same(JSON.parse(out), rest, `${name}: forwarded the same value less model`)
    }
    agreed++
  }
  t.equal(agreed, 1500)
})

t.test('cuts the top-level member out byte for byte: kept members joined by a bare comma', async t => {
  const cases: Array<[string, string]> = [
    ['{"model":"m"}', '{}'],
    [' { "model" : "m" } ', ' {} '],
    ['{"a":1,"model":"m"}', '{"a":1}'],
    ['{"model":"m","a":1}', '{"a":1}'],
    ['{"a":{"model":"keep"},"model":"m","b":[{"model":1}]}', '{"a":{"model":"keep"},"b":[{"model":1}]}'],
    ['{"model":"a","t":true,"model":"b","n":null}', '{"t":true,"n":null}'],
    ['{"id": 12345678901234567890, "2": "b", "1": "a", "x": 1e400, "y": 1.50, "model": "m"}', '{"id": 12345678901234567890,"2": "b","1": "a","x": 1e400,"y": 1.50}'],
    ['{"a":1,"b":2 ,"model":"m","c":3,"d":4}', '{"a":1,"b":2,"c":3,"d":4}']
  ]
  for (const [input, want] of cases) {
    for (const chunk of [0, 1, 4]) t.equal(scan(Buffer.from(input), chunk).out, want, `${JSON.stringify(input)} in chunks of ${chunk}`)
  }
  const kept = Buffer.from('{"a":1}')
  t.equal(assemble(kept, scan(kept).r), kept, 'nothing cut: the same buffer')
})

t.test('the member: the last one wins, keys may be escaped, long strings are not decoded', async t => {
  t.same(scan(Buffer.from('{"model":"a","model":"b"}')).r.member, { kind: 'string', text: 'b' })
  t.same(scan(Buffer.from('{"model":"a","model":[1]}')).r.member, { kind: 'other' })
  t.same(scan(Buffer.from('{"\\u006d\\u006F\\u0064\\u0065\\u006c":"x"}')).r.member, { kind: 'string', text: 'x' })
  t.same(scan(Buffer.from('{"mode":"x","models":"y","modél":"z"}')).r.member, { kind: 'missing' }, 'near names are not the name')
  t.same(scan(Buffer.from('{"model":"x\\u001b[31m\\nforged"}')).r.member, { kind: 'string', text: 'x\u001b[31m\nforged' })
  t.same(scan(Buffer.from(`{"model":"${'m'.repeat(512)}"}`)).r.member, { kind: 'string', text: 'm'.repeat(512) })
  t.same(scan(Buffer.from(`{"model":"${'m'.repeat(513)}"}`)).r.member, { kind: 'long-string' })
  t.same(scan(Buffer.from(`{"${'k'.repeat(100)}":1,"model":"m"}`), 3).r.member, { kind: 'string', text: 'm' }, 'a long key is not the name')
  t.match(scan(Buffer.from('[{"model":"m"}]')).r, { verdict: 'not-object', member: { kind: 'missing' }, removed: 0 }, 'only a top-level object has members')
  t.same(scan(Buffer.from('{"model":"m"')).r.member, { kind: 'missing' }, 'nothing from an invalid body')
  t.throws(() => new ObjectScanner({ name: 'modèle' }), TypeError)
})

t.test('shapes that cost JSON.parse seconds and hundreds of MB are one linear pass', async t => {
  const M = 4 * 1024 * 1024
  const shapes: Array<[string, Buffer, number]> = [
    ['a million tiny arrays', Buffer.from(`{"a":[${'[],'.repeat(M / 3)}[]],"model":"m"}`), 1],
    ['a million tiny objects', Buffer.from(`{"a":[${'{},'.repeat(M / 3)}{}],"model":"m"}`), 1],
    ['two million levels deep', Buffer.from(`{"d":${'['.repeat(M / 2)}${']'.repeat(M / 2)},"model":"m"}`), 1],
    ['a 4 MiB string and a 100 kB number', Buffer.from(`{"s":"${'x'.repeat(M)}","n":${'7'.repeat(100_000)},"model":"m"}`), 1],
    ['300k top-level members a line each', Buffer.from(`{${Array.from({ length: 300_000 }, (_, i) => `"k${i}":${i}`).join(',\n')},\n"model":"m"}`), 300_000]
  ]
  for (const [name, body, runs] of shapes) {
    const { r, out } = scan(body, 65536)
    t.equal(r.verdict, 'object', `${name}: an object`)
    t.same(r.member, { kind: 'string', text: 'm' }, `${name}: its model`)
    t.equal(r.runs.length / 2, runs, `${name}: ${runs} kept run(s)`)
    t.equal(out.length, body.length - (body.includes(',\n"model"') ? 300_000 + 12 : 12), `${name}: only the member (and the whitespace between members) cut`)
  }
  const unclosed = scan(Buffer.from('['.repeat(M)), 65536).r
  t.equal(unclosed.verdict, 'invalid', 'four million unclosed arrays are simply invalid')
})
