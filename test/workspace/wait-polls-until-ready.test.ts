// `endpoints wait`: polls until READY with nothing updating, reports each state change once,
// stops on a failed update and at its deadline.
import t from 'tap'
import { formatElapsed, waitUntilReady } from '../../src/workspace/wait.js'
import type { ServingEndpoint } from '../../src/workspace/serving-endpoints.js'

function scripted (states: Array<ServingEndpoint['state'] & object>, extra: Partial<ServingEndpoint> = {}) {
  let clock = 0
  let i = 0
  const sleeps: number[] = []
  return {
    sleeps,
    opts: {
      get: async (): Promise<ServingEndpoint> => ({ name: 'e', state: states[Math.min(i++, states.length - 1)], ...extra }),
      now: () => clock,
      sleep: async (ms: number) => { sleeps.push(ms); clock += ms }
    }
  }
}

t.test('ready after the update lands; one report per state change; polls back off to the cap', async t => {
  const s = scripted([
    { ready: 'NOT_READY', config_update: 'IN_PROGRESS' }, { ready: 'NOT_READY', config_update: 'IN_PROGRESS' },
    { ready: 'NOT_READY', config_update: 'IN_PROGRESS' }, { ready: 'READY', config_update: 'IN_PROGRESS' },
    { ready: 'READY', config_update: 'NOT_UPDATING' }
  ])
  const seen: string[] = []
  const r = await waitUntilReady({ ...s.opts, timeoutMs: 60_000, maxIntervalMs: 3000, onChange: (e, ms) => { seen.push(`${ms} ${e.state?.ready ?? ''}/${e.state?.config_update ?? ''}`) } })
  t.equal(r.outcome, 'ready')
  t.same(s.sleeps, [1000, 2000, 3000, 3000])
  t.same(seen, ['0 NOT_READY/IN_PROGRESS', '6000 READY/IN_PROGRESS', '9000 READY/NOT_UPDATING'])
})

t.test('a failed update ends the wait at once', async t => {
  const s = scripted([{ ready: 'NOT_READY', config_update: 'IN_PROGRESS' }, { ready: 'NOT_READY', config_update: 'UPDATE_FAILED' }])
  const r = await waitUntilReady({ ...s.opts, timeoutMs: 60_000, maxIntervalMs: 1000 })
  t.equal(r.outcome, 'failed')
  t.equal(r.elapsedMs, 1000)
})

t.test('a failed deployment of a new endpoint ends it too', async t => {
  const s = scripted([{ ready: 'NOT_READY' }], { config: { served_entities: [{ state: { deployment: 'DEPLOYMENT_FAILED' } }] } })
  t.equal((await waitUntilReady({ ...s.opts, timeoutMs: 60_000, maxIntervalMs: 1000 })).outcome, 'failed')
})

t.test('the deadline: never sleeps past it, reports timeout with the last state', async t => {
  const s = scripted([{ ready: 'NOT_READY', config_update: 'IN_PROGRESS' }])
  const r = await waitUntilReady({ ...s.opts, timeoutMs: 2500, maxIntervalMs: 10_000 })
  t.equal(r.outcome, 'timeout')
  t.same(s.sleeps, [1000, 1500])
  t.equal(r.endpoint?.state?.ready, 'NOT_READY')
})

t.test('elapsed times', async t => {
  t.same([0, 42_400, 65_000, 3_720_000].map(formatElapsed), ['0s', '42s', '1m05s', '1h02m'])
})

t.test('a poll that fails for a passing reason is tried again; any other failure ends the wait', async t => {
  const { WorkspaceApiError } = await import('../../src/errors.js')
  let clock = 0
  const answers: Array<ServingEndpoint | Error> = [
    new WorkspaceApiError('TEMPORARILY_UNAVAILABLE', 'busy', { status: 503 }),
    new WorkspaceApiError('REQUEST_LIMIT_EXCEEDED', 'slow down', { status: 429 }),
    new WorkspaceApiError('IO_ERROR', 'connection reset'),
    { name: 'e', state: { ready: 'READY', config_update: 'NOT_UPDATING' } }
  ]
  const retries: string[] = []
  const r = await waitUntilReady({
    get: async () => { const a = answers.shift() as ServingEndpoint | Error; if (a instanceof Error) throw a; return a },
    now: () => clock,
    sleep: async (ms) => { clock += ms },
    timeoutMs: 60_000,
    maxIntervalMs: 3000,
    onRetry: (err) => { retries.push(err.message) }
  })
  t.equal(r.outcome, 'ready', 'three transient failures, then READY')
  t.same(retries, ['TEMPORARILY_UNAVAILABLE: busy', 'REQUEST_LIMIT_EXCEEDED: slow down', 'IO_ERROR: connection reset'])
  const gone = waitUntilReady({
    get: async () => { throw new WorkspaceApiError('RESOURCE_DOES_NOT_EXIST', 'deleted', { status: 404 }) },
    now: () => 0,
    sleep: async () => {},
    timeoutMs: 60_000,
    maxIntervalMs: 3000
  })
  await t.rejects(gone, { name: 'WorkspaceApiError', message: 'RESOURCE_DOES_NOT_EXIST: deleted' }, 'a 404 is not waited out')
  let t2 = 0
  const down = await waitUntilReady({
    get: async () => { throw new WorkspaceApiError('IO_ERROR', 'refused') },
    now: () => t2,
    sleep: async (ms) => { t2 += ms },
    timeoutMs: 10_000,
    maxIntervalMs: 3000
  })
  t.equal(down.outcome, 'timeout', 'a workspace down the whole time: the wait ends at its deadline')
})
