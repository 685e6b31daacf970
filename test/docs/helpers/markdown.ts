// Pure helpers for the docs tests: the repository's Markdown files, their headings as GitHub
// anchors, their links, and the code they show. Fenced code is kept apart from prose, so a `#`
// comment in a shell block is never a heading and a `[x](y)` inside code is never a link.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** README.md and every docs/*.md, as paths relative to the repository root. */
export function docFiles (): string[] {
  return ['README.md', ...readdirSync(join(ROOT, 'docs')).filter(f => f.endsWith('.md')).sort().map(f => `docs/${f}`)]
}

export function read (rel: string): string {
  return readFileSync(join(ROOT, rel), 'utf8')
}

export interface Split {
  /** The text outside fenced code blocks (fenced lines replaced by empty lines). */
  prose: string
  /** Each fenced block's body. */
  blocks: string[]
}

/** Splits Markdown into prose and fenced code blocks (``` or ~~~ fences). */
export function split (md: string): Split {
  const prose: string[] = []
  const blocks: string[] = []
  let fence: string | undefined
  let block: string[] = []
  for (const line of md.split('\n')) {
    const m = /^\s*(`{3,}|~{3,})/.exec(line)
    if (fence === undefined && m?.[1] !== undefined) {
      fence = m[1]
      block = []
      prose.push('')
    } else if (fence !== undefined && line.trim().startsWith(fence)) {
      fence = undefined
      blocks.push(block.join('\n'))
      prose.push('')
    } else if (fence !== undefined) {
      block.push(line)
      prose.push('')
    } else {
      prose.push(line)
    }
  }
  return { prose: prose.join('\n'), blocks }
}

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces as dashes. */
export function slug (heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\p{M} _-]/gu, '').replace(/ /g, '-')
}

/** The headings of a Markdown text (not counting `#` lines inside code). */
export function headings (md: string): string[] {
  return [...split(md).prose.matchAll(/^#{1,6} +(.+?) *#*$/gm)].map(m => (m[1] ?? '').trim())
}

/** The anchors of a Markdown text, with GitHub's `-1`, `-2` suffixes for repeated headings. */
export function anchors (md: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const h of headings(md)) {
    const base = slug(h.replace(/`/g, ''))
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

/** Inline code spans of the prose, and every fenced block: where commands are shown. */
export function codeTexts (md: string): string[] {
  const { prose, blocks } = split(md)
  return [...[...prose.matchAll(/(`+)([^`]+?)\1/g)].map(m => m[2] ?? ''), ...blocks]
}

/** Link targets of the prose: `[text](target)`, a title after the target ignored. */
export function links (md: string): string[] {
  const prose = split(md).prose.replace(/(`+)[^`]+?\1/g, '')
  return [...prose.matchAll(/\]\(<?([^)\s>]+)>?(?: "[^"]*")?\)/g)].map(m => m[1] ?? '')
}
