import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

// Code comments cite the repository's own docs: every `docs/databricks-protocol.md §N` names a
// section of that file, every `README.md "Heading"` a heading of the README, and nothing cites
// the design notes that are not in the repository. (src/emulator moves to its own package and
// keeps its own citations for now.)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
  .flatMap(e => e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
const files = walk(join(ROOT, 'src')).filter(f => !relative(ROOT, f).startsWith('src/emulator/'))
const protocol = readFileSync(join(ROOT, 'docs/databricks-protocol.md'), 'utf8')
const sections = new Set([...protocol.matchAll(/^#{2,3} (§[\d.]+) /gm)].map(m => m[1]))
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
const headings = new Set([...readme.matchAll(/^#{2,4} (.+)$/gm)].map(m => m[1]?.trim()))

t.test('no code comment cites DESIGN.md or DATABRICKS.md', async t => {
  const offenders = files.filter(f => /DESIGN\.md|DATABRICKS\.md/.test(readFileSync(f, 'utf8'))).map(f => relative(ROOT, f))
  t.same(offenders, [])
})

t.test('every docs/databricks-protocol.md § cited exists', async t => {
  t.ok(sections.size >= 7, 'the protocol document has its sections')
  let cited = 0
  for (const f of files) {
    // "docs/databricks-protocol.md §1, §5": each § after the file name, up to the closing bracket.
    for (const m of readFileSync(f, 'utf8').matchAll(/docs\/databricks-protocol\.md((?:,? ?§[\d.]+)+)/g)) {
      for (const s of m[1]?.match(/§[\d.]+/g) ?? []) {
        cited++
        t.ok(sections.has(s.replace(/\.$/, '')), `${relative(ROOT, f)}: ${s}`)
      }
    }
  }
  t.ok(cited >= 4, `the code cites it (${cited} times)`)
})

t.test('every README.md "Heading" cited exists', async t => {
  for (const f of files) {
    for (const m of readFileSync(f, 'utf8').matchAll(/README(?:\.md)?,? "([^"]+)"/g)) {
      t.ok(headings.has(m[1]), `${relative(ROOT, f)}: README "${m[1]}"`)
    }
  }
})

t.test('the protocol document gives a public source for what it states', async t => {
  for (const rfc of ['RFC 6749', 'RFC 6750', 'RFC 7523', 'RFC 8693', 'RFC 9396']) t.match(protocol, rfc)
  t.match(protocol, /https:\/\/docs\.databricks\.com\/\S+query-route-optimization/)
  t.match(protocol, /scope=all-apis/)
  t.match(protocol, /object_path: "\/serving-endpoints\/<endpoint-id>"/)
  t.match(protocol, /30\s+seconds/)
})
