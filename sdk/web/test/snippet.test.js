import assert from 'node:assert/strict'
import { test } from 'node:test'
import { gzipSync } from 'node:zlib'

import { element, MINI_PROGRAM_UA, NETWORK_ERROR, openPage, SCRIPT } from './fake-browser.js'

const LANDING = 'https://shop.example.com/landing/cny?ref=poster&utm_source=poster&utm_medium=qr&utm_campaign=cny-2027'
const SIGNED = 'wxa_v=Vq3kZ8aQmT1xYp0w&wxa_p=p7Kx2&wxa_c=cny-2027&wxa_e=1795086400&wxa_sig=Zm9yZ2VkLW9yLW5vdC1zZQ'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

test('the snippet is one script small enough to inline (gzipped size printed)', () => {
  const size = gzipSync(Buffer.from(SCRIPT), { level: 9 }).length
  console.log(`sdk/web/wxanalytics.js: ${SCRIPT.length} bytes, ${size} bytes gzipped`)
  assert.ok(size < 7 * 1024, `${size} bytes gzipped`)
  assert.doesNotMatch(SCRIPT, /\bimport\b|\brequire\(/, 'no dependencies')
})

test('a page load sends page_view with the page’s UTMs, template, title and a stable event_id', async () => {
  const page = openPage(LANDING, { referrer: 'https://wxa.example.com/r/p7Kx2' })
  await page.advance(5000)

  const [start, view] = page.sent()
  assert.deepEqual([start.event_name, view.event_name], ['session_start', 'page_view'])
  assert.equal(view.source, 'h5')
  assert.equal(view.page, 'cny')
  assert.equal(view.campaign, 'cny-2027')
  assert.equal(view.ts, '2026-11-28T08:00:00.000Z')
  assert.match(view.event_id, UUID)
  assert.equal(view.session_id, start.session_id)
  assert.deepEqual(view.properties, {
    utm_source: 'poster',
    utm_medium: 'qr',
    utm_campaign: 'cny-2027',
    path: '/landing/cny',
    title: 'Promo',
    referrer: 'https://wxa.example.com/r/p7Kx2',
  })
  assert.equal(page.requests[0].url, 'https://wxa.example.com/api/v1/events')
  assert.equal(page.requests[0].headers.Authorization, 'Bearer wxa_client_key')
})

test('the signed hand-over from /r/<code> gives the scan’s visitor and placement and is forwarded for the server to verify', async () => {
  const page = openPage(`${LANDING}&${SIGNED}`)
  await page.advance(5000)

  const view = page.named('page_view')[0]
  assert.equal(view.user_id, 'Vq3kZ8aQmT1xYp0w', 'the same visitor as the scan')
  assert.equal(view.placement_scene, 'p7Kx2')
  assert.deepEqual(view.properties.handover, {
    wxa_v: 'Vq3kZ8aQmT1xYp0w',
    wxa_p: 'p7Kx2',
    wxa_c: 'cny-2027',
    wxa_e: '1795086400',
    wxa_sig: 'Zm9yZ2VkLW9yLW5vdC1zZQ',
  })
  // The address bar loses the hand-over, so a reload or a copied link does not carry it on.
  assert.equal(page.location.search, '?ref=poster&utm_source=poster&utm_medium=qr&utm_campaign=cny-2027')
})

test('later pages of the visit keep the placement and the hand-over, a new visit without a link is direct', async () => {
  const storage = new Map()
  openPage(`${LANDING}&${SIGNED}`, { storage })
  const next = openPage('https://shop.example.com/goods/9', { storage, startAt: Date.parse('2026-11-28T08:05:00Z') })
  next.wxa().track('add_to_cart', { value: '199.00', currency: 'CNY' })
  await next.advance(5000)

  const cart = next.named('add_to_cart')[0]
  assert.equal(cart.placement_scene, 'p7Kx2')
  assert.equal(cart.properties.handover.wxa_sig, 'Zm9yZ2VkLW9yLW5vdC1zZQ')
  assert.equal(cart.user_id, 'Vq3kZ8aQmT1xYp0w')

  const later = openPage('https://shop.example.com/goods/9', { storage, startAt: Date.parse('2026-11-28T10:00:00Z') })
  await later.advance(5000)
  const view = later.named('page_view')[0]
  assert.equal(view.placement_scene, undefined)
  assert.equal(view.properties.handover, undefined)
  assert.equal(view.user_id, 'Vq3kZ8aQmT1xYp0w', 'still the same person')
  assert.notEqual(view.session_id, cart.session_id)
})

test('inside a Mini Program web-view the hand-over continues the Mini Program’s visitor, session and attribution', async () => {
  const url =
    'https://h5.example.com/promo?item=9&wxa_v=oUser-42&wxa_s=0b0c7c3e-1111-4222-8333-444455556666&wxa_p=p7Kx2&wxa_c=cny&wxa_sh=friend-1&wxa_d=2&wxa_from=mp'
  const page = openPage(url, { userAgent: MINI_PROGRAM_UA })
  await page.advance(5000)

  const view = page.named('page_view')[0]
  assert.deepEqual(
    [view.user_id, view.session_id, view.placement_scene, view.campaign],
    ['oUser-42', '0b0c7c3e-1111-4222-8333-444455556666', 'p7Kx2', 'cny'],
  )
  assert.equal(view.properties.sharer, 'friend-1')
  assert.equal(view.properties.share_depth, 2)
  assert.equal(view.properties.handover, 'mini_program')
  assert.deepEqual(page.named('session_start'), [], 'the Mini Program already opened this session')
  assert.equal(page.location.search, '?item=9')
})

test('an unsigned Mini Program hand-over opened outside a web-view is ignored', async () => {
  const page = openPage('https://h5.example.com/promo?wxa_v=someone-else&wxa_s=abc&wxa_p=p7Kx2&wxa_from=mp')
  await page.advance(5000)

  const view = page.named('page_view')[0]
  assert.notEqual(view.user_id, 'someone-else')
  assert.match(view.user_id, UUID)
  assert.notEqual(view.session_id, 'abc')
  assert.equal(view.placement_scene, undefined)
})

test('track and identify: the anonymous id and the login are linked once, events then carry the login', async () => {
  const page = openPage(LANDING)
  const anon = page.wxa().getUserId()
  page.wxa().identify('member-7', { unionid: 'oUnion-1' })
  page.wxa().identify('member-7')
  page.wxa().track('signup', { plan: 'gold' })
  await page.advance(5000)

  const links = page.requests.filter((r) => r.url.endsWith('/api/v1/identify')).map((r) => r.body)
  assert.deepEqual(links, [
    { user_id: 'member-7', alias: anon },
    { user_id: 'member-7', unionid: 'oUnion-1' },
  ])
  assert.equal(page.named('signup')[0].user_id, 'member-7')
})

test('events are batched: one request after the flush interval', async () => {
  const page = openPage(LANDING)
  for (let i = 0; i < 5; i++) page.wxa().track('scroll_depth', { pct: i * 20 })
  await page.advance(4999)
  assert.equal(page.requests.length, 0)

  await page.advance(1)
  assert.equal(page.requests.length, 1)
  assert.equal(page.requests[0].body.length, 7) // session_start, page_view and the five
})

test('a server error is retried with backoff and the same event_ids; nothing is removed until answered', async () => {
  const page = openPage(LANDING)
  page.responses.push({ status: 502, data: 'Bad Gateway' }, NETWORK_ERROR)
  await page.advance(5000)
  const first = page.requests[0].body.map((e) => e.event_id)
  assert.equal(page.stored().length, 2, 'kept in localStorage while unanswered')

  await page.advance(60_000)

  assert.equal(page.requests.length, 3)
  assert.deepEqual(
    page.requests.map((r) => r.body.map((e) => e.event_id)),
    [first, first, first],
  )
  assert.deepEqual(page.stored(), [])
  assert.equal(page.wxa().getStats().retries, 2)
})

test('429 waits for Retry-After before trying again', async () => {
  const page = openPage(LANDING)
  page.responses.push({ status: 429, data: {}, headers: { 'Retry-After': '30' } })
  await page.advance(5000)
  await page.advance(29_000)
  assert.equal(page.requests.length, 1)

  await page.advance(1000)
  assert.equal(page.requests.length, 2)
})

test('a refused key stops sending and keeps the events; 413 halves the batch', async () => {
  const refused = openPage(LANDING)
  refused.responses.push({ status: 403, data: { detail: 'origin not allowed' } })
  await refused.advance(60_000)
  assert.equal(refused.requests.length, 1)
  assert.equal(refused.stored().length, 2)

  const big = openPage(LANDING)
  for (let i = 0; i < 8; i++) big.wxa().track('scroll_depth')
  big.responses.push({ status: 413, data: {} })
  await big.advance(5000)
  assert.deepEqual(
    big.requests.map((r) => r.body.length),
    [10, 5, 5],
  )
})

test('events left by a page that was closed before they were sent go out from the next page, same ids', async () => {
  const storage = new Map()
  const first = openPage(LANDING, { storage })
  first.responses.push(NETWORK_ERROR)
  first.wxa().track('add_to_cart')
  await first.advance(5000)
  const ids = first.stored().map((e) => e.event_id)

  const second = openPage('https://shop.example.com/goods/9', { storage, startAt: first.now() + 2000 })
  await second.advance(0)

  assert.deepEqual(second.requests[0].body.map((e) => e.event_id).slice(0, ids.length), ids)
})

test('page hide sends the queue with keepalive so it outlives the page', async () => {
  const page = openPage(LANDING)
  page.wxa().track('add_to_cart')
  page.hide()
  await page.settle()

  assert.equal(page.requests.length, 1)
  assert.equal(page.requests[0].keepalive, true)
  assert.deepEqual(page.stored(), [])
})

test('page_leave counts foreground time only: hidden time between hide and show is not counted', async () => {
  const page = openPage(LANDING)
  await page.advance(4000)
  page.hide()
  await page.advance(120_000)
  page.show()
  await page.advance(2500)
  page.leave()
  await page.settle()

  const [leave] = page.named('page_leave')
  assert.equal(leave.properties.duration_ms, 6500) // 4,000 + 2,500; the 120,000 hidden ms left out
  assert.equal(leave.value, '6500')
  assert.equal(leave.page, 'cny')
  assert.equal(leave.properties.how, 'pagehide')
})

test('a page discarded while hidden (no pagehide) is reported by the next page with its own session', async () => {
  const storage = new Map()
  const first = openPage(LANDING, { storage })
  await first.advance(3000)
  first.hide()
  await first.settle()
  const oldSession = first.wxa().getSessionId()

  const second = openPage('https://shop.example.com/', { storage, startAt: first.now() + 3 * 3600 * 1000 })
  await second.advance(5000)

  const [leave] = second.named('page_leave')
  assert.equal(leave.properties.duration_ms, 3000)
  assert.equal(leave.properties.how, 'closed')
  assert.equal(leave.session_id, oldSession)
  const [start] = second.named('session_start')
  assert.notEqual(start.session_id, oldSession)
})

test('with trackClicks, a click on a marked element sends element_click; input values and text are never sent', async () => {
  const page = openPage(LANDING, { config: { serverUrl: 'https://wxa.example.com', ingestKey: 'k', trackClicks: true } })
  const list = element('ul', { id: 'goods' })
  const item = element('li', { 'data-wxa': 'goods_card', 'data-wxa-name': 'Card', 'data-wxa-index': '4' }, list)
  const inner = element('span', { text: '限时特价 ¥99' }, item)
  const phone = element('input', { id: 'phone', 'data-wxa': 'phone_field' }, list, '13800138000')
  const plain = element('button', { id: 'plain', text: 'Pay' }, list)

  page.click(inner)
  page.click(phone)
  page.click(plain)
  await page.advance(5000)

  const clicks = page.named('element_click').map((e) => e.properties)
  assert.deepEqual(clicks, [
    { element_id: null, element_name: 'Card', tag: 'li', marked: true, position: 4, utm_source: 'poster' },
    { element_id: 'phone', element_name: 'phone_field', tag: 'input', marked: true, utm_source: 'poster' },
  ])
  assert.doesNotMatch(JSON.stringify(page.sent()), /13800138000|限时特价/)
})

test('trackClicks "all" also records unmarked links and buttons; clicks are off by default', async () => {
  const all = openPage(LANDING, { config: { serverUrl: 'https://wxa.example.com', ingestKey: 'k', trackClicks: 'all' } })
  const off = openPage(LANDING)
  const button = element('button', { id: 'pay' }, element('div'))

  all.click(element('span', {}, button))
  off.click(element('span', {}, button))
  await all.advance(5000)
  await off.advance(5000)

  assert.deepEqual(
    all.named('element_click').map((e) => [e.properties.element_name, e.properties.marked]),
    [['pay', false]],
  )
  assert.deepEqual(off.named('element_click'), [])
})

test('shareLink adds this visitor as sharer and the next depth, keeps the placement, drops the hand-over', async () => {
  const page = openPage(`${LANDING}&${SIGNED}`)
  const link = new URL(page.wxa().shareLink())

  assert.equal(link.origin + link.pathname, 'https://shop.example.com/landing/cny')
  assert.equal(link.searchParams.get('sharer'), 'Vq3kZ8aQmT1xYp0w')
  assert.equal(link.searchParams.get('share_depth'), '1')
  assert.equal(link.searchParams.get('scene'), 'p7Kx2')
  assert.equal(link.searchParams.get('campaign'), 'cny-2027')
  assert.equal(link.searchParams.get('utm_source'), 'poster')
  for (const name of ['wxa_v', 'wxa_sig', 'wxa_e']) assert.equal(link.searchParams.get(name), null, name)

  // A friend opens it and shares again: credited to the same placement, one hop further.
  const friend = openPage(link.href)
  await friend.advance(5000)
  const view = friend.named('page_view')[0]
  assert.equal(view.placement_scene, 'p7Kx2')
  assert.equal(view.properties.sharer, 'Vq3kZ8aQmT1xYp0w')
  assert.notEqual(view.user_id, 'Vq3kZ8aQmT1xYp0w')
  const again = new URL(friend.wxa().shareLink())
  assert.equal(again.searchParams.get('share_depth'), '2')
  assert.equal(again.searchParams.get('sharer'), view.user_id)
})

test('global properties go with every event and init without a key says what is missing', async () => {
  const page = openPage(LANDING, {
    config: { serverUrl: 'https://wxa.example.com', ingestKey: 'k', globalProperties: { store_id: 'SH-042' } },
  })
  page.wxa().setGlobalProperties({ ab: 'B' })
  page.wxa().track('signup')
  await page.advance(5000)

  assert.equal(page.named('page_view')[0].properties.store_id, 'SH-042')
  assert.deepEqual(page.named('signup')[0].properties, { store_id: 'SH-042', ab: 'B', utm_source: 'poster' })
  const bare = openPage(LANDING, { autoInit: false })
  assert.throws(() => bare.wxa().init({ serverUrl: 'https://wxa.example.com' }), /needs serverUrl and ingestKey/)
})

test('leaving while a request is on its way sends the rest at once with keepalive instead of waiting for it', async () => {
  const page = openPage(LANDING)
  page.wxa().flush() // session_start and page_view on their way
  page.wxa().track('add_to_cart')
  page.leave()

  // Sent before the first answer came back: at the hide, then at pagehide.
  const rest = page.requests.slice(1)
  assert.deepEqual(
    rest.map((r) => r.keepalive),
    [true, true],
  )
  assert.deepEqual(
    rest.flatMap((r) => r.body.map((e) => e.event_name)),
    ['add_to_cart', 'page_leave'],
  )
  await page.settle()
  assert.deepEqual(page.stored(), [])
  assert.equal(page.sent().length, 4, 'each event sent once')
})
