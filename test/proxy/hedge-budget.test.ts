import t from 'tap'
import { createHedgeBudget, createLatencyWindow } from '../../src/proxy/hedge-budget.js'

t.test('hedges stay within maxPercent of the window\'s requests', async t => {
  let now = 0
  const budget = createHedgeBudget({ after: 50, maxPercent: 5, now: () => now })
  let hedged = 0
  let refused = 0
  for (let i = 0; i < 1000; i++) {
    now += 5 // 1,000 requests over 5 s: all inside the 10 s window
    budget.request()
    // Every tenth request is slow and wants a hedge.
    if (i % 10 === 9) {
      const r = budget.tryHedge()
      if (r === true) hedged++
      else { t.equal(r, 'over_budget'); refused++ }
    }
  }
  t.ok(hedged <= 50, `hedged ${hedged}`)
  t.ok(hedged >= 45, `hedged ${hedged}`)
  t.equal(hedged + refused, 100)
  t.equal(budget.delayMs(), 50)
})

t.test('when most requests would hedge, none is sent', async t => {
  let now = 0
  const budget = createHedgeBudget({ after: 10, maxPercent: 100, now: () => now })
  const results = []
  for (let i = 0; i < 100; i++) {
    now += 1
    budget.request()
    results.push(budget.tryHedge())
  }
  const sent = results.filter(r => r === true).length
  t.ok(results.slice(-50).every(r => r === 'most_would_hedge'))
  t.ok(sent <= 1, `sent ${sent}`)
})

t.test('the window slides: old requests stop counting, the budget comes back', async t => {
  let now = 0
  const budget = createHedgeBudget({ after: 10, maxPercent: 10, now: () => now, windowMs: 1000 })
  for (let i = 0; i < 20; i++) budget.request()
  t.equal(budget.tryHedge(), true)
  t.equal(budget.tryHedge(), true)
  t.equal(budget.tryHedge(), 'over_budget')
  now += 1000 // the whole window later: nothing counts any more
  t.equal(budget.tryHedge(), 'most_would_hedge', 'no requests in the window')
  for (let i = 0; i < 20; i++) budget.request()
  t.equal(budget.tryHedge(), true)
  now += 1e9 // a long idle gap empties at most every bucket once
  budget.request()
  t.equal(budget.tryHedge(), 'most_would_hedge')
})

t.test('p95 delay: none until enough samples, then the rolling p95', async t => {
  const budget = createHedgeBudget({ after: 'p95', maxPercent: 5, now: () => 0, minSamples: 20, samples: 100 })
  for (let i = 1; i <= 19; i++) budget.observe(i)
  t.equal(budget.delayMs(), undefined)
  budget.observe(20)
  t.equal(budget.delayMs(), 19)
  t.throws(() => createHedgeBudget({ after: 1, maxPercent: 0, now: () => 0 }), TypeError)
})

t.test('latency window: quantiles of the last samples, bad values dropped', async t => {
  const w = createLatencyWindow(100)
  t.equal(w.quantile(0.95), 0)
  for (let i = 1; i <= 100; i++) w.push(i)
  w.push(Number.NaN)
  w.push(-1)
  t.equal(w.count, 100)
  t.equal(w.quantile(0.95), 95)
  t.equal(w.quantile(0.5), 50)
  t.equal(w.quantile(1), 100)
  // 100 more samples of 1000 replace the old ones (re-sorted after size/10 new samples).
  for (let i = 0; i < 100; i++) w.push(1000)
  t.equal(w.quantile(0.5), 1000)
})
