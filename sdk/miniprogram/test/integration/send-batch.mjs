/**
 * Sends a real batch from the SDK (on the fake wx runtime, whose wx.request does a real HTTP POST
 * with fetch) to a running wxanalytics server:
 *
 *   node sdk/miniprogram/test/integration/send-batch.mjs <server url> <ingest key> <placement scene>
 *
 * The journey: launch from a Mini Program code carrying the scene (WeChat scene 1047), home page
 * view, PDP view, identify (→ POST /api/v1/identify), add_to_cart. The first answer of the
 * event API is "lost" (the server stores the batch but the SDK sees a network error), so the
 * retry must come back as duplicates, not new rows. Prints one JSON line:
 * { anonymous_id, user_id, event_ids, pay_attach, stats }. Exit code 1 when anything is still queued or
 * was rejected.
 */
import { createClient } from '../../wxanalytics.js'
import { createFakeWx } from '../fake-wx.js'

const [serverUrl, ingestKey, scene] = process.argv.slice(2)
if (!scene) {
  // `node --test test/` collects every file under test/; as a test file this script has nothing to do.
  if (process.env.NODE_TEST_CONTEXT) process.exit(0)
  console.error('usage: send-batch.mjs <server url> <ingest key> <placement scene>')
  process.exit(2)
}

const fake = createFakeWx({
  realFetch: true,
  startAt: Date.now(),
  launchOptions: { scene: 1047, path: 'pages/index/index', query: { scene: encodeURIComponent(scene) } },
})
const wxa = createClient(fake.env)
wxa.init({ serverUrl, ingestKey, appId: 'wxintegration01', flushInterval: 60_000 })
fake.global.App({})
fake.definePage('pages/index/index', {})
fake.definePage('pages/goods/detail', {})

// Lose the answer to the first batch of events: the rows are stored, the SDK thinks it failed.
const request = fake.wx.request
let lost = false
fake.wx.request = (opts) => {
  if (lost || !opts.url.endsWith('/api/v1/events')) return request(opts)
  lost = true
  return request({ ...opts, success: () => opts.fail({ errMsg: 'request:fail answer lost' }) })
}

const anonymousId = wxa.getUserId()
fake.launch()
await fake.openPage('pages/index/index', { scene: encodeURIComponent(scene) }, { loadMs: 120 })
await fake.openPage('pages/goods/detail', { id: '42' })
wxa.identify('o-integration-user')
wxa.track('add_to_cart', { sku: 'A1', value: '199.00', currency: 'CNY' })
await fake.settle() // the queue reaches storage at the end of the tick
const eventIds = fake.stored().map((e) => e.event_id)

await wxa.flush() // answer lost → backoff
await fake.advance(wxa.getStats().blockedUntil - fake.now())
const stats = await wxa.flush() // the retry (joins the drain the timer started)

const payAttach = wxa.payAttach()
console.log(
  JSON.stringify({
    anonymous_id: anonymousId,
    user_id: 'o-integration-user',
    event_ids: eventIds,
    pay_attach: payAttach,
    stats,
  }),
)
process.exit(stats.queued === 0 && stats.links === 0 && stats.rejected === 0 ? 0 : 1)
