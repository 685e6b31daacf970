// Bounded file reads: a FIFO (real, mkfifo) is refused at once instead of blocking the open; a
// file over the cap is refused; a missing file keeps its errno.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { FileReadError, readFileBounded, readFileBoundedSync, readProblem, withDeadline } from '../../src/io/read-file.js'

const dir = mkdtempSync(join(tmpdir(), 'routegate-read-file-'))
const fifo = join(dir, 'fifo')
// No writer ever opens it: a plain open() for reading would block forever.
execFileSync('mkfifo', [fifo])
const small = join(dir, 'small')
writeFileSync(small, 'hello\n')
const big = join(dir, 'big')
writeFileSync(big, 'x'.repeat(1025))

t.test('sync: reads a regular file; refuses a FIFO, an oversized file; keeps errnos', async t => {
  t.equal(readFileBoundedSync(small, 1024).toString(), 'hello\n')
  t.equal(readFileBoundedSync(small, 6).toString(), 'hello\n', 'exactly the cap is fine')
  t.throws(() => readFileBoundedSync(fifo, 1024), { code: 'ENOTREG', message: /is not a regular file/ })
  t.throws(() => readFileBoundedSync(big, 1024), { code: 'EFBIG' })
  t.throws(() => readFileBoundedSync(join(dir, 'missing'), 1024), { code: 'ENOENT' })
  t.throws(() => readFileBoundedSync(dir, 1024), { code: 'ENOTREG' }, 'a directory neither')
})

t.test('async: the same, and never pending on a FIFO', async t => {
  t.equal((await readFileBounded(small, { maxBytes: 1024, timeoutMs: 60_000 })).toString(), 'hello\n')
  await t.rejects(readFileBounded(fifo, { maxBytes: 1024, timeoutMs: 60_000 }), { code: 'ENOTREG' }, 'refused, not left to the deadline')
  await t.rejects(readFileBounded(big, { maxBytes: 1024, timeoutMs: 60_000 }), { code: 'EFBIG' })
  await t.rejects(readFileBounded(join(dir, 'missing'), { maxBytes: 1024, timeoutMs: 60_000 }), { code: 'ENOENT' })
})

t.test('withDeadline: a read that never settles rejects ETIMEDOUT; a settled one wins', async t => {
  const err = await withDeadline(new Promise(() => {}), 1, '/mnt/stuck').catch((e: unknown) => e)
  t.ok(err instanceof FileReadError)
  t.match(err, { code: 'ETIMEDOUT', message: 'reading /mnt/stuck took longer than 1 ms' })
  t.equal(await withDeadline(Promise.resolve('ok'), 60_000, 'x'), 'ok')
})

t.test('readProblem spells out the codes of its own', async t => {
  t.match(readProblem(new FileReadError('ENOTREG', 'x')), /not a regular file; a FIFO/)
  t.match(readProblem(new FileReadError('EFBIG', 'x')), /larger than the limit/)
  t.equal(readProblem(Object.assign(new Error('x'), { code: 'EACCES' })), 'EACCES')
})
