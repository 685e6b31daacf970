// Reads a small local file (a config, a secret, a subject token) so that the read can neither
// hang nor grow without bound. A plain open() of a FIFO with no writer blocks until one appears,
// and in Node it blocks the caller (readFileSync: the whole process, health checks included) or a
// libuv pool thread (fs/promises: four of them stall all file and DNS work). So the file is opened
// O_NONBLOCK (an open that returns at once whatever the file is), checked to be a regular file,
// and read up to a cap; the asynchronous read is also raced against a deadline, for a regular file
// on a mount that stopped answering.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs'
import { open } from 'node:fs/promises'

/** Why a bounded read failed; `code` is an errno (`ENOENT`, …) or one of the three below. */
export class FileReadError extends Error {
  constructor (readonly code: string, message: string) {
    super(message)
  }

  override get name (): string { return 'FileReadError' }
}

/** `ENOTREG`: a FIFO, socket or device; `EFBIG`: over the cap; `ETIMEDOUT`: past the deadline. */
const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK

function notRegular (path: string): FileReadError {
  return new FileReadError('ENOTREG', `${path} is not a regular file (a FIFO or device could block the read)`)
}
function tooLarge (path: string, maxBytes: number): FileReadError {
  return new FileReadError('EFBIG', `${path} is larger than ${maxBytes} bytes`)
}
function wrap (path: string, err: unknown): FileReadError {
  if (err instanceof FileReadError) return err
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
  return new FileReadError(code, `cannot read ${path} (${code})`)
}

/** Reads at most `maxBytes` of a regular file, synchronously but without blocking on a FIFO. */
export function readFileBoundedSync (path: string, maxBytes: number): Buffer {
  let fd: number
  try {
    fd = openSync(path, FLAGS)
  } catch (err) {
    throw wrap(path, err)
  }
  try {
    if (!fstatSync(fd).isFile()) throw notRegular(path)
    const buf = Buffer.alloc(maxBytes + 1)
    let size = 0
    // A file can grow between stat and read: read until EOF or one byte past the cap.
    for (;;) {
      const n = readSync(fd, buf, size, buf.length - size, null)
      if (n === 0) break
      size += n
      if (size > maxBytes) throw tooLarge(path, maxBytes)
    }
    return buf.subarray(0, size)
  } catch (err) {
    throw wrap(path, err)
  } finally {
    closeSync(fd)
  }
}

/**
 * Reads at most `maxBytes` of a regular file within `timeoutMs`. Past the deadline it rejects
 * with ETIMEDOUT; the file handle is closed whenever the stuck operation returns.
 */
export async function readFileBounded (path: string, opts: { maxBytes: number, timeoutMs: number }): Promise<Buffer> {
  return await withDeadline(readRegular(path, opts.maxBytes), opts.timeoutMs, path)
}

/** `work`, or an ETIMEDOUT rejection after `timeoutMs` if it has not settled by then. */
export async function withDeadline<T> (work: Promise<T>, timeoutMs: number, path: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new FileReadError('ETIMEDOUT', `reading ${path} took longer than ${timeoutMs} ms`)) }, timeoutMs)
  })
  try {
    return await Promise.race([work, deadline])
  } finally {
    clearTimeout(timer)
  }
}

async function readRegular (path: string, maxBytes: number): Promise<Buffer> {
  let fh
  try {
    fh = await open(path, FLAGS)
  } catch (err) {
    throw wrap(path, err)
  }
  try {
    if (!(await fh.stat()).isFile()) throw notRegular(path)
    const buf = Buffer.alloc(maxBytes + 1)
    let size = 0
    for (;;) {
      const { bytesRead } = await fh.read(buf, size, buf.length - size, null)
      if (bytesRead === 0) break
      size += bytesRead
      if (size > maxBytes) throw tooLarge(path, maxBytes)
    }
    return buf.subarray(0, size)
  } catch (err) {
    throw wrap(path, err)
  } finally {
    await fh.close()
  }
}

/** An errno, with what ENOTREG/EFBIG mean spelt out (a FIFO given as a file is worth explaining). */
export function readProblem (err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? 'error'
  if (code === 'ENOTREG') return 'ENOTREG: not a regular file; a FIFO or device could block the read'
  if (code === 'EFBIG') return 'EFBIG: larger than the limit for this file'
  return code
}
