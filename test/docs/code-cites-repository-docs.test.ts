import t from 'tap'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { headings } from './helpers/markdown.js'

// Code comments cite the repository's own docs: every `docs/databricks-protocol.md §N` names a
// section of that file, every `docs/<page>.md "Heading"` (or `README.md "Heading"`) a heading of
// that page, and nothing cites the design notes that are not in the repository. The deploy files
// and the Dockerfile cite them too. (src/emulator moves to its own package and keeps its own
// citations for now.)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
  .flatMap(e => e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
const files = walk(join(ROOT, 'src')).filter(f => !relative(ROOT, f).startsWith('src/emulator/'))
const protocol = readFileSync(join(ROOT, 'docs/databricks-protocol.md'), 'utf8')
const sections = new Set([...protocol.matchAll(/^#{2,3} (§[\d.]+) /gm)].map(m => m[1]))
const citing = [...files, ...walk(join(ROOT, 'test')).filter(f => !relative(ROOT, f).startsWith('test/docs/')), join(ROOT, 'Dockerfile'), ...readdirSync(join(ROOT, 'deploy'), { recursive: true, encoding: 'utf8' })
  .filter(f => /\.ya?ml$/.test(f)).map(f => join(ROOT, 'deploy', f))]

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

t.test('every docs/<page>.md "Heading" (or README "Heading") cited exists', async t => {
  let cited = 0
  for (const f of citing) {
    for (const m of readFileSync(f, 'utf8').matchAll(/(README(?:\.md)?|docs\/[\w-]+\.md),? "([^"]+)"/g)) {
      const doc = m[1]?.startsWith('docs/') === true ? m[1] : 'README.md'
      const where = `${relative(ROOT, f)}: ${m[1] ?? ''} "${m[2] ?? ''}"`
      cited++
      if (!existsSync(join(ROOT, doc))) {
        t.fail(`${where}: no such file`)
        continue
      }
      t.ok(headings(readFileSync(join(ROOT, doc), 'utf8')).includes(m[2] ?? ''), where)
    }
  }
  t.ok(cited >= 15, `the code cites the docs (${cited} times)`)
})

t.test('the protocol document gives a public source for what it states', async t => {
  for (const rfc of ['RFC 6749', 'RFC 6750', 'RFC 7523', 'RFC 8693', 'RFC 9396']) t.match(protocol, rfc)
  t.match(protocol, /https:\/\/docs\.databricks\.com\/\S+query-route-optimization/)
  t.match(protocol, /scope=all-apis/)
  t.match(protocol, /object_path: "\/serving-endpoints\/<endpoint-id>"/)
  t.match(protocol, /30\s+seconds/)
})
