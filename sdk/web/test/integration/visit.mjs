/**
 * A real visit with the H5 snippet (in test/fake-browser.js, whose fetch does a real HTTP POST)
 * against a running wxanalytics server:
 *
 *   node sdk/web/test/integration/visit.mjs <server url> <ingest key> <landing url>
 *
 * The landing URL is what /r/<code> redirects to (UTMs and the signed hand-over). The visitor
 * views the page, taps a marked element, adds to cart, reads for 4 s, hides the page for a minute,
 * reads 2 s more and leaves. Prints one JSON line: { user_id, event_ids, stats }. Exit code 1 when
 * anything is still queued or was rejected.
 */
import { element, openPage } from '../fake-browser.js'

const [serverUrl, ingestKey, landing] = process.argv.slice(2)
if (!landing) {
  // `node --test test/` collects every file under test/; as a test file this script has nothing to do.
  if (process.env.NODE_TEST_CONTEXT) process.exit(0)
  console.error('usage: visit.mjs <server url> <ingest key> <landing url>')
  process.exit(2)
}

const page = openPage(landing, {
  realFetch: true,
  startAt: Date.now(),
  config: { serverUrl, ingestKey, trackClicks: true, flushInterval: 60_000 },
})
const wxa = page.wxa()
page.click(element('button', { id: 'buy', 'data-wxa': 'buy_button', 'data-wxa-index': '2' }))
wxa.track('add_to_cart', { sku: 'A1', value: '199.00', currency: 'CNY' })
await page.advance(4000)
page.hide()
await page.advance(60_000)
page.show()
await page.advance(2000)
page.leave()
for (let i = 0; i < 100 && (wxa.getStats().queued || page.requests.length === 0); i++) {
  await new Promise((resolve) => setTimeout(resolve, 50))
}
const stats = await wxa.flush()
const eventIds = [...new Set(page.sent().map((e) => e.event_id))]
console.log(JSON.stringify({ user_id: wxa.getUserId(), event_ids: eventIds, stats }))
process.exit(stats.queued || stats.rejected ? 1 : 0)
