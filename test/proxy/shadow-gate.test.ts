import t from 'tap'
import { createShadowGate } from '../../src/proxy/shadow-gate.js'

/** A seeded uniform generator (mulberry32): repeatable samples without Math.random. */
function seeded (seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6D2B79F5) | 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

t.test('percent: 10 samples 8-12 % of 1,000 requests', async t => {
  for (const seed of [1, 2, 3]) {
    const gate = createShadowGate({ percent: 10, maxInFlight: 10_000, maxBodyBytes: 1024, random: seeded(seed) })
    let sent = 0
    for (let i = 0; i < 1000; i++) {
      const d = gate.admit(10)
      if (d.send) { sent++; d.release() }
    }
    t.ok(sent >= 80 && sent <= 120, `seed ${seed}: ${sent} sent`)
  }
})

t.test('a shadow over maxInFlight is skipped, never queued; a release frees a place once', async t => {
  const gate = createShadowGate({ percent: 100, maxInFlight: 2, maxBodyBytes: 1024, random: () => 0 })
  const a = gate.admit(1)
  const b = gate.admit(1)
  t.ok(a.send && b.send)
  t.same(gate.admit(1), { send: false, why: 'skipped_busy' })
  t.equal(gate.inFlight, 2)
  if (a.send) { a.release(); a.release() }
  t.equal(gate.inFlight, 1)
  t.ok(gate.admit(1).send)
  t.same(gate.admit(1), { send: false, why: 'skipped_busy' })
})

t.test('a body over maxBodyBytes, or not held whole, is skipped by size', async t => {
  const gate = createShadowGate({ percent: 100, maxInFlight: 5, maxBodyBytes: 10, random: () => 0.5 })
  t.same(gate.admit(11), { send: false, why: 'skipped_size' })
  t.same(gate.admit(undefined), { send: false, why: 'skipped_size' })
  t.ok(gate.admit(10).send)
})

t.test('unsampled requests are neither sent nor counted against the gate', async t => {
  const gate = createShadowGate({ percent: 0, maxInFlight: 1, maxBodyBytes: 10, random: () => 0 })
  t.same(gate.admit(1), { send: false, why: 'unsampled' })
  t.throws(() => createShadowGate({ percent: 101, maxInFlight: 1, maxBodyBytes: 1 }), TypeError)
  t.throws(() => createShadowGate({ percent: 1, maxInFlight: 0, maxBodyBytes: 1 }), TypeError)
})
