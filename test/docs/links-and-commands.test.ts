// The README and docs/ stay true: every relative link reaches a file (and a heading, when it names
// one), every `routegate …` command and `npm …` script they show exists, the README stays short,
// the configuration reference covers the config schema with its defaults, the operations page
// lists every metric, and no planning vocabulary leaks into user docs.
import t from 'tap'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { ConfigSchema } from '../../src/config/schema.js'
import { METRIC_NAMES } from '../../src/metrics/index.js'
import { ENDPOINTS_USAGE } from '../../src/cli/commands/endpoints.js'
import { ROOT, anchors, codeTexts, docFiles, links, read, slug, split } from './helpers/markdown.js'

const FILES = docFiles()

t.test('the markdown helpers', async t => {
  t.equal(slug('Kubernetes (`deploy/kubernetes`)'.replace(/`/g, '')), 'kubernetes-deploykubernetes')
  t.equal(slug('Workload identity federation: no client secret anywhere'), 'workload-identity-federation-no-client-secret-anywhere')
  t.same([...anchors('# A\n```sh\n# not a heading\n```\n## B b\n## B b\n')], ['a', 'b-b', 'b-b-1'])
  t.same(links('[x](a.md#b) `[y](not-a-link)`\n```\n[z](in-code.md)\n```\n[w](https://e.org "t")'), ['a.md#b', 'https://e.org'])
  t.same(codeTexts('a `routegate demo` b\n```sh\nnpm test\n```\n'), ['routegate demo', 'npm test'])
})

t.test('docs/ has the pages a user looks for, and an index', async t => {
  for (const page of ['README', 'configuration', 'operations', 'clients', 'http', 'deploy', 'performance', 'walkthrough', 'cli', 'emulator', 'development', 'security', 'governance', 'beyond', 'databricks-protocol', 'tokens']) {
    t.ok(FILES.includes(`docs/${page}.md`), `docs/${page}.md`)
  }
  const index = read('docs/README.md')
  for (const f of FILES.filter(f => f.startsWith('docs/') && f !== 'docs/README.md')) {
    t.ok(index.includes(`](${f.slice('docs/'.length)})`), `docs/README.md links ${f}`)
  }
})

t.test('every relative link points to an existing file and heading', async t => {
  let checked = 0
  for (const file of FILES) {
    for (const target of links(read(file))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue
      checked++
      const [path = '', fragment] = target.split('#', 2)
      const resolved = path === '' ? file : normalize(join(dirname(file), decodeURIComponent(path)))
      const where = `${file}: ${target}`
      if (resolved.startsWith('..') || !existsSync(join(ROOT, resolved))) {
        t.fail(`${where}: no such file`)
        continue
      }
      if (fragment !== undefined) {
        t.ok(resolved.endsWith('.md') && statSync(join(ROOT, resolved)).isFile(), `${where}: an anchor needs a Markdown file`)
        t.ok(anchors(read(resolved)).has(fragment), `${where}: heading #${fragment} exists in ${resolved}`)
      }
    }
  }
  t.ok(checked >= 60, `links checked (${checked})`)
})

/** The binary's commands and options, from its usage text and dispatch (src/cli/main.ts). */
function cliVocabulary (): { commands: Set<string>, options: Set<string> } {
  const main = read('src/cli/main.ts')
  const usage = /const USAGE = `([\s\S]*?)`/.exec(main)?.[1] ?? ''
  const commands = new Set([...usage.matchAll(/^ {2}routegate ([a-z][a-z-]*)/gm)].map(m => m[1] ?? ''))
  for (const m of main.matchAll(/case '([a-z][a-z-]*)':/g)) commands.add(m[1] ?? '')
  const options = new Set<string>()
  for (const m of main.matchAll(/^ {6}([a-z]+): \{ type: '(?:string|boolean)'(?:, short: '([a-z])')?/gm)) {
    options.add(`--${m[1] ?? ''}`)
    if (m[2] !== undefined) options.add(`-${m[2]}`)
  }
  return { commands, options }
}

t.test('every `routegate …` command shown in README and docs/ exists', async t => {
  const { commands, options } = cliVocabulary()
  t.ok(commands.has('demo') && commands.has('endpoints') && commands.has('token') && commands.has('serve'), 'the usage text is parsed')
  t.ok(options.has('--config') && options.has('-c') && options.has('--version'), 'the options are parsed')
  const subcommands = new Set([...ENDPOINTS_USAGE.matchAll(/routegate endpoints ([a-z]+)/g)].map(m => m[1] ?? ''))
  t.same([...subcommands].sort(), ['create', 'delete', 'get', 'list', 'wait'])
  let seen = 0
  for (const file of FILES) {
    for (const code of codeTexts(read(file))) {
      // A command: at the start of a line or span, or after `npx` or a shell operator; never a
      // word inside a quoted string ("routegate is running …").
      for (const m of code.matchAll(/(?:^|\bnpx |[;&|(] *)routegate ([^\s`'"|;&)]+)(?: ([a-z]+))?/gm)) {
        const word = m[1] ?? ''
        // Output shown as text (`routegate <version>`, "routegate demo: a gateway …") is not a command.
        if (!/^(?:-|[a-z][a-z-]*$)/.test(word)) continue
        seen++
        if (word.startsWith('-')) {
          t.ok(options.has(word), `${file}: routegate ${word} is an option of the binary`)
        } else {
          t.ok(commands.has(word), `${file}: routegate ${word} is a command`)
          if (word === 'endpoints' && m[2] !== undefined) t.ok(subcommands.has(m[2]), `${file}: routegate endpoints ${m[2]}`)
        }
      }
    }
  }
  t.ok(seen >= 30, `commands checked (${seen})`)
})

t.test('every `npm …` script shown in README and docs/ is in package.json', async t => {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts
  let seen = 0
  for (const file of FILES) {
    for (const code of codeTexts(read(file))) {
      for (const m of code.matchAll(/\bnpm (?:run ([\w:-]*[\w-])|(start|test|stop|restart)\b)/g)) {
        const script = m[1] ?? m[2] ?? ''
        seen++
        t.ok(Object.hasOwn(scripts, script), `${file}: npm ${m[1] === undefined ? '' : 'run '}${script}`)
      }
    }
  }
  t.ok(seen >= 10, `scripts checked (${seen})`)
})

t.test('the README is short: at most 15 KB', async t => {
  const size = Buffer.byteLength(read('README.md'))
  t.ok(size <= 15 * 1024, `README.md is ${size} bytes`)
  for (const section of ['Quickstart', 'Commands', 'Documentation']) t.match(read('README.md'), new RegExp(`^## ${section}`, 'm'))
})

t.test('no planning vocabulary in README or docs/', async t => {
  const words = /\b(?:first|second|third|this|next|previous) round\b|\brounds?\b|the issue\b|design'?s? (?:table|notes)|\bDESIGN\.md\b|\bhelpers?\b|\bbrief\b/i
  for (const file of FILES) {
    read(file).split('\n').forEach((line, i) => {
      const m = words.exec(line)
      t.notOk(m, `${file}:${i + 1}${m === null ? '' : `: "${m[0]}"`}`)
    })
  }
})

interface SchemaNode { type?: string, properties?: Record<string, SchemaNode>, items?: SchemaNode, default?: unknown }

/** Every leaf of the config schema as `a.b`, `list[].c`, with its default when it has one. */
function schemaFields (node: SchemaNode, prefix: string, out: Map<string, unknown>): Map<string, unknown> {
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const path = prefix === '' ? name : `${prefix}.${name}`
    out.set(path, child.default)
    if (child.type === 'object' && child.properties !== undefined) schemaFields(child, path, out)
    else if (child.type === 'array' && child.items?.type === 'object') schemaFields(child.items, `${path}[]`, out)
  }
  return out
}

/** The configuration reference's table rows: each field a row names, with the row's default cell. */
function documentedFields (md: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const row of split(md).prose.split('\n').filter(l => l.startsWith('| `'))) {
    const [first = '', dflt = ''] = row.split(/ \| /).map(c => c.replace(/^\| ?/, ''))
    let parent = ''
    for (const m of first.matchAll(/`([^`]+)`/g)) {
      const item = m[1] ?? ''
      const path = item.startsWith('.') ? parent + item : item
      if (!item.startsWith('.')) parent = item.slice(0, item.lastIndexOf('.'))
      out.set(path, dflt)
    }
  }
  return out
}

t.test('docs/configuration.md documents every config field and its default', async t => {
  const schema = schemaFields(ConfigSchema as unknown as SchemaNode, '', new Map())
  const documented = documentedFields(read('docs/configuration.md'))
  const isSection = (p: string): boolean => [...schema.keys()].some(k => k.startsWith(`${p}.`) || k.startsWith(`${p}[].`))
  t.ok(schema.size >= 100, `schema fields (${schema.size})`)
  for (const [path, dflt] of schema) {
    const covered = [...documented.keys()].some(d => path === d || path.startsWith(`${d}.`))
    if (isSection(path) && !documented.has(path)) continue
    t.ok(covered, `${path} is documented`)
    const cell = documented.get(path)
    if (cell !== undefined && dflt !== undefined && typeof dflt !== 'object') {
      t.ok(cell.includes(`\`${String(dflt)}\``), `${path}: default \`${String(dflt)}\` (documented: ${cell})`)
    } else if (cell !== undefined && Array.isArray(dflt)) {
      t.ok(cell.includes(`\`${JSON.stringify(dflt)}\``), `${path}: default ${JSON.stringify(dflt)} (documented: ${cell})`)
    }
  }
  for (const path of documented.keys()) t.ok(schema.has(path), `${path} (documented) is a config field`)
})

t.test('docs/operations.md lists every metric, and the docs name no other', async t => {
  const ops = read('docs/operations.md')
  const metrics = ops.slice(ops.indexOf('## Metrics'), ops.indexOf('\n## ', ops.indexOf('## Metrics') + 1))
  for (const name of METRIC_NAMES) t.match(metrics, `| \`${name}\` |`, `${name} has a row`)
  const known = new Set<string>(METRIC_NAMES)
  for (const file of FILES) {
    for (const m of read(file).matchAll(/\broutegate_[a-z_]+[a-z]\b/g)) t.ok(known.has(m[0]), `${file}: ${m[0]} is a metric`)
  }
})

t.test('the access log section documents every field the access line writes', async t => {
  const ops = read('docs/operations.md')
  const section = ops.slice(ops.indexOf('## Access log'), ops.indexOf('\n## ', ops.indexOf('## Access log') + 1))
  const record = readFileSync(join(ROOT, 'src/server/record.ts'), 'utf8')
  const fields = [...(/const line: Record<string, unknown> = \{([\s\S]*?)\n {4}\}/.exec(record)?.[1] ?? '').matchAll(/^ {6}(\w+):/gm)].map(m => m[1] ?? '')
  t.ok(fields.length >= 20, `fields of the access line (${fields.length})`)
  for (const f of [...fields, 'cause', 'time']) t.match(section, `\`${f}\``, `${f} is documented`)
  t.match(section, /"v": 1/)
})

t.test('no doc links outside the repository by a relative path', async t => {
  for (const file of FILES) {
    for (const target of links(read(file))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue
      const resolved = relative(ROOT, join(ROOT, dirname(file), target.split('#')[0] ?? ''))
      t.notOk(resolved.startsWith('..'), `${file}: ${target}`)
    }
  }
})
