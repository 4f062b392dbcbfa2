import assert from 'node:assert/strict'
import { test } from 'node:test'

import { createClient } from '../wxanalytics.js'
import { createFakeWx, NETWORK_ERROR } from './fake-wx.js'
import { CONFIG, names, startApp, startLaunchedApp } from './setup.js'

const serverError = { statusCode: 500, data: 'Internal Server Error' }

test('events wait for the flush interval, then go out in one batch', async () => {
  const { fake, wxa } = await startLaunchedApp({ config: { flushInterval: 5000 } })

  wxa.track('add_to_cart')
  wxa.track('start_checkout')
  await fake.advance(4999)
  const before = fake.requests.length
  await fake.advance(1)

  assert.equal(before, 0)
  assert.equal(fake.requests.length, 1)
  assert.deepEqual(names(fake.requests[0].events), ['add_to_cart', 'start_checkout'])
})

test('a full batch is sent at once, without waiting for the interval', async () => {
  const { fake, wxa } = await startLaunchedApp({ config: { maxBatch: 3, flushInterval: 60_000 } })

  for (let i = 0; i < 3; i++) wxa.track('page_view')
  await fake.settle()

  assert.equal(fake.requests.length, 1)
  assert.equal(fake.requests[0].events.length, 3)
})

test('only one request is in flight; events queued meanwhile follow in the next request', async () => {
  const { fake, wxa } = await startLaunchedApp({ config: { maxBatch: 2 } })
  fake.hold = true

  wxa.track('a1')
  wxa.track('a2')
  wxa.track('a3')
  wxa.track('a4')
  wxa.flush()
  await fake.settle()
  const inFlight = fake.requests.length
  await fake.release()
  await fake.release()

  assert.equal(inFlight, 1)
  assert.deepEqual(
    fake.requests.map((r) => names(r.events)),
    [
      ['a1', 'a2'],
      ['a3', 'a4'],
    ],
  )
  assert.equal(fake.stored().length, 0)
})

test('queued events survive a restart and are sent by the next launch with their original ids', async () => {
  const storage = new Map()
  const first = await startLaunchedApp({ storage })
  first.fake.server = () => NETWORK_ERROR
  first.wxa.track('add_to_cart', { sku: 'A1' })
  await first.wxa.flush()
  const ids = first.fake.stored().map((e) => e.event_id)

  const second = startApp({ storage })
  await second.fake.settle()

  assert.equal(ids.length, 1)
  assert.deepEqual(
    second.fake.sent().map((e) => e.event_id),
    ids,
  )
  assert.equal(second.fake.stored().length, 0)
})

test('the anonymous id survives a restart', () => {
  const storage = new Map()
  const first = startApp({ storage }).wxa.getUserId()

  const second = startApp({ storage }).wxa.getUserId()

  assert.equal(second, first)
})

test('a server error is retried with growing, jittered, capped backoff and the same event_id', async () => {
  const { fake, wxa } = await startLaunchedApp({ config: { minBackoff: 1000, maxBackoff: 8000 } })
  fake.server = () => serverError
  wxa.track('pay_click')
  await wxa.flush()

  const delays = []
  for (let i = 0; i < 6; i++) {
    delays.push(fake.pendingTimers()[0])
    await fake.advance(fake.pendingTimers()[0])
  }

  const bases = [1000, 2000, 4000, 8000, 8000, 8000]
  for (const [i, delay] of delays.entries()) {
    assert.ok(delay >= bases[i] / 2 && delay <= bases[i], `retry ${i}: ${delay} ms`)
  }
  assert.equal(new Set(fake.requests.map((r) => r.events[0].event_id)).size, 1)
  assert.equal(fake.requests.length, 7)
  assert.equal(fake.stored().length, 1)
})

test('a network error keeps the events and the retry succeeds with the same event_id', async () => {
  const { fake, wxa } = await startLaunchedApp()
  fake.responses.push(NETWORK_ERROR)
  wxa.track('add_to_cart')
  await wxa.flush()

  await fake.advance(fake.pendingTimers()[0])

  assert.equal(fake.requests.length, 2)
  assert.equal(fake.requests[1].events[0].event_id, fake.requests[0].events[0].event_id)
  assert.equal(fake.stored().length, 0)
  assert.equal(wxa.getStats().retries, 1)
})

test('a flush during backoff does not hammer the server', async () => {
  const { fake, wxa } = await startLaunchedApp()
  fake.responses.push(serverError)
  wxa.track('add_to_cart')
  await wxa.flush()

  await wxa.flush()
  wxa.track('start_checkout')
  await wxa.flush()

  assert.equal(fake.requests.length, 1)
})

test('503 waits for Retry-After before trying again', async () => {
  const { fake, wxa } = await startLaunchedApp()
  fake.responses.push({ statusCode: 503, header: { 'retry-after': '30' }, data: { detail: 'busy' } })
  wxa.track('add_to_cart')
  await wxa.flush()

  await fake.advance(29_999)
  const before = fake.requests.length
  await fake.advance(1)

  assert.equal(before, 1)
  assert.equal(fake.requests.length, 2)
  assert.equal(fake.stored().length, 0)
})

test('413 splits the batch in halves until the server takes it', { timeout: 5000 }, async () => {
  const { fake, wxa } = await startLaunchedApp({ config: { maxBatch: 8, flushInterval: 60_000 } })
  fake.server = (req) =>
    req.events.length > 2
      ? { statusCode: 413, data: { detail: 'too large' } }
      : { statusCode: 200, data: { accepted: req.events.length, duplicates: 0, conflicts: 0, rejected: [] } }

  for (let i = 0; i < 8; i++) wxa.track(`e${i}`)
  await fake.settle()

  assert.deepEqual(
    fake.requests.map((r) => r.events.length),
    [8, 4, 2, 2, 2, 2],
  )
  assert.equal(wxa.getStats().accepted, 8)
  assert.equal(fake.stored().length, 0)
})

test('a single event too large for the server is dropped and counted, not retried forever', async () => {
  const { fake, wxa } = await startLaunchedApp()
  fake.server = () => ({ statusCode: 413, data: {} })

  wxa.track('huge', { blob: 'x'.repeat(1000) })
  await wxa.flush()
  await fake.advance(60 * 60 * 1000)

  assert.equal(fake.requests.length, 1)
  assert.equal(wxa.getStats().rejected, 1)
  assert.equal(fake.stored().length, 0)
})

test('rejected rows are dropped and counted; accepted and duplicate rows leave the queue', async () => {
  const { fake, wxa } = await startLaunchedApp()
  fake.responses.push({
    statusCode: 200,
    data: {
      accepted: 1,
      duplicates: 1,
      conflicts: 0,
      rejected: [{ index: 1, errors: { ts: 'is too far in the future' } }],
    },
  })
  wxa.track('add_to_cart')
  wxa.track('bad')
  wxa.track('start_checkout')
  await wxa.flush()

  await fake.advance(60 * 60 * 1000)

  assert.equal(fake.requests.length, 1)
  assert.equal(fake.stored().length, 0)
  const stats = wxa.getStats()
  assert.equal(stats.rejected, 1)
  assert.equal(stats.accepted, 1)
  assert.equal(stats.duplicates, 1)
  assert.ok(fake.warnings.some((w) => w.includes('rejected') && w.includes('bad')))
})

test('a refused ingest key stops sending but keeps every event for the next launch', async () => {
  const { fake, wxa } = await startLaunchedApp()
  fake.server = () => ({ statusCode: 401, data: { detail: 'Invalid ingest key.' } })
  wxa.track('add_to_cart')
  await wxa.flush()

  wxa.track('start_checkout')
  await fake.advance(60 * 60 * 1000)

  assert.equal(fake.requests.length, 1)
  assert.equal(fake.stored().length, 2)
  assert.equal(wxa.getStats().authFailed, true)
})

test('past the queue cap the oldest events are dropped and counted', async () => {
  const { fake, wxa } = await startLaunchedApp({ config: { maxQueue: 5, maxBatch: 5 } })
  fake.server = () => NETWORK_ERROR

  for (let i = 0; i < 8; i++) wxa.track(`e${i}`)
  await fake.settle()

  assert.deepEqual(names(fake.stored()), ['e3', 'e4', 'e5', 'e6', 'e7'])
  assert.equal(wxa.getStats().dropped, 3)
  assert.equal(fake.wx.getStorageSync('wxa_stats').dropped, 3)
})

test('a lost answer followed by a retry sends the same event_ids, so the server sees duplicates', async () => {
  const { fake, wxa } = await startLaunchedApp({ config: { maxBatch: 10 } })
  const seen = new Set()
  fake.server = (req) => {
    const fresh = req.events.filter((e) => !seen.has(e.event_id))
    for (const e of req.events) seen.add(e.event_id)
    return fake.requests.length === 1
      ? NETWORK_ERROR // stored by the server, but the answer never arrives
      : {
          statusCode: 200,
          data: { accepted: fresh.length, duplicates: req.events.length - fresh.length, conflicts: 0, rejected: [] },
        }
  }
  wxa.track('pay_click')
  wxa.track('add_to_cart')
  await wxa.flush()

  await fake.advance(fake.pendingTimers()[0])

  assert.equal(wxa.getStats().accepted, 0)
  assert.equal(wxa.getStats().duplicates, 2)
  assert.equal(seen.size, 2)
})

test('maxBatch is clamped to the server limit of 1,000 events', async () => {
  const { fake, wxa } = await startLaunchedApp({ config: { maxBatch: 5000, maxQueue: 2000, flushInterval: 60_000 } })
  fake.hold = true

  for (let i = 0; i < 1000; i++) wxa.track('page_view')
  await fake.settle()

  assert.equal(fake.requests.length, 1)
  assert.equal(fake.requests[0].events.length, 1000)
})

test('the backoff is jittered: with the random source at 0 each wait is half the exponential step', async () => {
  const fake = createFakeWx()
  const wxa = createClient({ ...fake.env, random: () => 0 })
  wxa.init({ ...CONFIG, minBackoff: 1000 })
  fake.server = () => serverError
  wxa.track('pay_click')
  await wxa.flush()

  const delays = []
  for (let i = 0; i < 3; i++) {
    delays.push(fake.pendingTimers()[0])
    await fake.advance(fake.pendingTimers()[0])
  }

  assert.deepEqual(delays, [1000, 1000, 2000])
})

test('a 200 that is not the event API’s answer (wrong serverUrl, a proxy page) keeps the events', async () => {
  const { fake, wxa } = await startLaunchedApp()
  fake.responses.push({ statusCode: 200, data: '<html>Welcome</html>' })
  wxa.track('add_to_cart')
  await wxa.flush()

  await fake.advance(fake.pendingTimers()[0])

  assert.equal(fake.requests.length, 2)
  assert.equal(fake.requests[1].events[0].event_id, fake.requests[0].events[0].event_id)
  assert.equal(wxa.getStats().accepted, 1)
  assert.ok(fake.warnings.some((w) => w.includes('serverUrl')))
})

test('events queued in the same tick are written to storage once', async () => {
  const { fake } = startApp({ launchOptions: { scene: 1047, path: 'pages/index/index', query: { scene: 'c1' } } })

  fake.launch()
  await fake.settle()

  assert.equal(fake.stored().length, 3)
  assert.equal(fake.writes.wxa_queue, 1)
})
