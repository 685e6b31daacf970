import t from 'tap'
import { Lifecycle } from '../src/lifecycle.js'

t.test('close() resolves pending sleeps with false, and later sleeps at once', async t => {
  const life = new Lifecycle()
  t.equal(await life.sleep(0), true, 'a zero sleep resolves true at once')
  t.equal(await life.sleep(5), true)
  const pending = life.sleep(60_000)
  life.close()
  t.equal(await pending, false)
  t.equal(await life.sleep(60_000), false)
})
