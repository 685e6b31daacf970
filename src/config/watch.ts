// `server.watchConfig`: notices a change of the config file and asks for a reload, debounced.
// It watches the file's directory, not the file: Kubernetes updates a mounted ConfigMap by
// writing a new timestamped directory and renaming a `..data` symlink over the old one, so the
// file's own inode never changes (a watch on it would go quiet after the first swap), while the
// directory sees every swap as a rename. An editor's save-by-rename looks the same.
import { watch as fsWatch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'

export interface ConfigWatchDeps {
  /** Quiet time after the last event before `onChange` runs (one swap is several events). */
  debounceMs?: number
  watch?: (dir: string, listener: (event: string, filename: string | Buffer | null) => void) => Pick<FSWatcher, 'close' | 'on'>
  setTimeout?: (fn: () => void, ms: number) => unknown
  clearTimeout?: (handle: unknown) => void
  /** A watch that fails (the directory removed): logged by the caller. */
  onError?: (err: Error) => void
}

export interface ConfigWatcher {
  close: () => void
}

export const WATCH_DEBOUNCE_MS = 200

/**
 * Calls `onChange` once per burst of changes in `path`'s directory that concern the file:
 * its own name, the kubelet's `..data` (and `..data_tmp`) symlinks, or an unnamed event (some
 * platforms omit the name). `onChange` decides whether the content changed; it never overlaps
 * itself: a burst during a running reload schedules one more after it.
 */
export function watchConfigFile (path: string, onChange: () => Promise<void>, deps: ConfigWatchDeps = {}): ConfigWatcher {
  const debounceMs = deps.debounceMs ?? WATCH_DEBOUNCE_MS
  const setT = deps.setTimeout ?? ((fn: () => void, ms: number) => setTimeout(fn, ms).unref())
  const clearT = deps.clearTimeout ?? ((h: unknown) => { clearTimeout(h as NodeJS.Timeout) })
  const name = basename(path)
  let timer: unknown
  let running = false
  let again = false
  let closed = false

  const fire = (): void => {
    timer = undefined
    if (closed) return
    if (running) {
      again = true
      return
    }
    running = true
    onChange().catch(() => {}).finally(() => {
      running = false
      if (again && !closed) {
        again = false
        schedule()
      }
    })
  }
  const schedule = (): void => {
    if (timer !== undefined) clearT(timer)
    timer = setT(fire, debounceMs)
  }
  const watcher = (deps.watch ?? ((dir, listener) => fsWatch(dir, { persistent: false }, listener)))(dirname(path), (_event, filename) => {
    const f = filename === null ? null : String(filename)
    if (f === null || f === name || f.startsWith('..data')) schedule()
  })
  watcher.on('error', (err: Error) => { deps.onError?.(err) })
  return {
    close () {
      closed = true
      if (timer !== undefined) clearT(timer)
      watcher.close()
    }
  }
}
