// "Did you mean": the allowed key nearest to a misspelt one. Pure.

/** Edit distance (insertions, deletions, substitutions), computed up to `max`; past it, max + 1. */
export function levenshtein (a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1
  let prev = Array.from({ length: b.length + 1 }, (_v, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length] ?? 0
}

/**
 * The allowed key nearest to `key` within `maxDistance` edits, compared case-insensitively
 * (`bodylimitbytes` means `bodyLimitBytes`); undefined if none is that near.
 * Keys longer than 64 characters are not looked at: a hostile file must not cost quadratic time.
 */
export function nearestKey (key: string, allowed: readonly string[], maxDistance = 2): string | undefined {
  if (key.length > 64) return undefined
  let best: { name: string, d: number } | undefined
  for (const name of allowed) {
    const d = levenshtein(key.toLowerCase(), name.toLowerCase(), maxDistance)
    if (d <= maxDistance && (best === undefined || d < best.d)) best = { name, d }
  }
  return best?.name
}
