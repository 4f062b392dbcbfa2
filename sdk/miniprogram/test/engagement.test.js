import assert from 'node:assert/strict'
import { test } from 'node:test'

import { parseQuery, tapProperties, WEB_VIEW_PARAMS } from '../wxanalytics.js'
import { startApp, startLaunchedApp } from './setup.js'

const byName = (fake, name) => fake.sent().filter((e) => e.event_name === name)

function listPage(calls) {
  return {
    onBuy(e) {
      calls.push(['onBuy', e.currentTarget.id])
    },
    onInput(e) {
      calls.push(['onInput', e.detail.value])
    },
    onSubmit(e) {
      calls.push(['onSubmit', e.detail.value])
    },
  }
}

test('with trackTaps on, a tap on a marked element sends element_click with page, id, name and list position', async () => {
  const calls = []
  const { fake, wxa } = await startLaunchedApp({
    config: { trackTaps: true },
    pages: { 'pages/goods/list': listPage(calls) },
  })
  const page = await fake.openPage('pages/goods/list')

  fake.tap(page, 'onBuy', { id: 'buy-3', dataset: { wxa: 'buy_button', wxaName: 'Buy now', wxaIndex: '3' } })
  await wxa.flush()

  const [click] = byName(fake, 'element_click')
  assert.equal(click.page, 'list')
  assert.deepEqual(click.properties, {
    element_id: 'buy-3',
    element_name: 'Buy now',
    handler: 'onBuy',
    marked: true,
    position: 3,
  })
  assert.deepEqual(calls, [['onBuy', 'buy-3']], 'the page’s own handler still runs, once, with the event')
})

test('unmarked elements send nothing unless trackTaps is "all", which records every bound handler', async () => {
  for (const [mode, expected] of [
    [true, []],
    ['all', ['onBuy']],
  ]) {
    const { fake, wxa } = await startLaunchedApp({ config: { trackTaps: mode }, pages: { 'pages/goods/list': listPage([]) } })
    const page = await fake.openPage('pages/goods/list')

    fake.tap(page, 'onBuy', { id: 'plain', dataset: { index: 0 } })
    await wxa.flush()

    assert.deepEqual(
      byName(fake, 'element_click').map((e) => e.properties.handler),
      expected,
      `trackTaps: ${mode}`,
    )
  }
})

test('taps are off by default', async () => {
  const options = listPage([])
  const { fake, wxa } = await startLaunchedApp({ pages: { 'pages/goods/list': options } })
  const page = await fake.openPage('pages/goods/list')

  fake.tap(page, 'onBuy', { id: 'buy', dataset: { wxa: 'buy' } })
  await wxa.flush()

  assert.deepEqual(byName(fake, 'element_click'), [])
})

test('the text of form inputs is never sent, not even for marked inputs in "all" mode', async () => {
  const calls = []
  const { fake, wxa } = await startLaunchedApp({ config: { trackTaps: 'all' }, pages: { 'pages/form': listPage(calls) } })
  const page = await fake.openPage('pages/form')

  // input and submit events carry what the user typed in e.detail.value.
  fake.tap(page, 'onInput', { id: 'phone', dataset: { wxa: 'phone' }, type: 'input', detail: { value: '13800138000' } })
  fake.tap(page, 'onSubmit', { id: 'f', dataset: { wxa: 'form' }, type: 'submit', detail: { value: { phone: '138' } } })
  fake.tap(page, 'onBuy', { id: 'b', dataset: { wxa: 'buy' }, detail: { value: 'secret', x: 1 } })
  await wxa.flush()

  assert.deepEqual(calls.map((c) => c[0]), ['onInput', 'onSubmit', 'onBuy'])
  const clicks = byName(fake, 'element_click')
  assert.deepEqual(clicks.map((e) => e.properties.handler), ['onBuy'], 'inputs and submits are not taps')
  assert.doesNotMatch(JSON.stringify(fake.sent()), /13800138000|secret|"138"/)
})

test('tapProperties reads only the element id and data-wxa attributes', () => {
  const event = { type: 'longpress', currentTarget: { id: 'x', dataset: { wxa: '', index: 'n/a', price: '99' } } }

  assert.deepEqual(tapProperties(event, 'onHold', true), {
    element_id: 'x',
    element_name: 'onHold',
    handler: 'onHold',
    marked: true,
    tap_type: 'longpress',
  })
  assert.equal(tapProperties({ type: 'tap', currentTarget: { dataset: {} } }, 'h', true), null)
  assert.equal(tapProperties(undefined, 'h', 'all'), null)
})

test('page_leave counts foreground time only: an app hide pauses the clock and a show resumes it', async () => {
  const { fake, wxa } = await startLaunchedApp({ pages: { 'pages/goods/detail': {}, 'pages/cart/cart': {} } })
  await fake.openPage('pages/goods/detail')

  await fake.advance(4000) // 4 s reading
  fake.hide()
  await fake.advance(60_000) // 1 min in the background: not time on page
  fake.show()
  await fake.advance(3000) // 3 s more
  await fake.navigateTo('pages/cart/cart')
  await wxa.flush()

  const [leave] = byName(fake, 'page_leave')
  // 4,000 + 3,000 ms in the foreground; the 60,000 ms hidden are not counted.
  assert.equal(leave.properties.duration_ms, 7000)
  assert.equal(leave.value, '7000')
  assert.equal(leave.page, 'detail')
  assert.equal(leave.properties.how, 'navigate')
  assert.equal(byName(fake, 'page_view').at(-1).page, 'cart')
})

test('navigating back unloads the page with its time, and the page below starts a new view', async () => {
  const { fake, wxa } = await startLaunchedApp()
  await fake.openPage('pages/index/index')
  await fake.advance(1000)
  await fake.navigateTo('pages/goods/detail')
  await fake.advance(2500)
  fake.navigateBack()
  await fake.advance(500)
  await fake.navigateTo('pages/cart/cart')
  await wxa.flush()

  assert.deepEqual(
    byName(fake, 'page_leave').map((e) => [e.page, e.properties.duration_ms, e.properties.how]),
    [
      ['index', 1000, 'navigate'],
      ['detail', 2500, 'unload'],
      ['index', 500, 'navigate'], // the second view of index counts from its new show only
    ],
  )
})

test('a page the app was closed on in the background is reported at the next launch, in its own session', async () => {
  const storage = new Map()
  const first = await startLaunchedApp({ storage })
  await first.fake.openPage('pages/goods/detail')
  await first.fake.advance(9000)
  first.fake.hide()
  await first.fake.settle()
  const oldSession = first.wxa.getSessionId()

  // WeChat kills the app in the background; hours later it launches again.
  const second = startApp({ storage })
  second.fake.launch()
  await second.wxa.flush()

  const [leave] = byName(second.fake, 'page_leave')
  assert.equal(leave.properties.duration_ms, 9000)
  assert.equal(leave.properties.how, 'closed')
  assert.equal(leave.session_id, oldSession)
  const [start] = byName(second.fake, 'session_start')
  assert.notEqual(start.session_id, oldSession, 'the new visit still opens with its own session_start')
  assert.equal(byName(second.fake, 'app_launch')[0].session_id, start.session_id)
  assert.equal(second.fake.wx.getStorageSync('wxa_page_leave'), '', 'reported once only')
})

test('a page paused and resumed in the same run is not reported again at the next launch', async () => {
  const storage = new Map()
  const first = await startLaunchedApp({ storage })
  await first.fake.openPage('pages/goods/detail')
  first.fake.hide()
  first.fake.show()

  const second = startApp({ storage })
  second.fake.launch()
  await second.wxa.flush()

  assert.deepEqual(byName(second.fake, 'page_leave'), [])
})

test('global properties go with every event; an event’s own property wins and null removes one', async () => {
  const { fake, wxa } = await startLaunchedApp({ config: { globalProperties: { app_version: '3.2.0', ab: 'B' } } })

  wxa.track('add_to_cart', { sku: 'A1', ab: 'override' })
  wxa.setGlobalProperties({ store_id: 'SH-042', ab: null })
  wxa.track('checkout')
  await wxa.flush()

  const [cart, checkout] = fake.sent()
  assert.deepEqual(cart.properties, { app_version: '3.2.0', ab: 'override', sku: 'A1' })
  assert.deepEqual(checkout.properties, { app_version: '3.2.0', store_id: 'SH-042' })
})

test('webViewUrl carries the visitor, session, placement, campaign and sharer to the H5 page', async () => {
  const { fake, wxa } = startApp({
    launchOptions: {
      scene: 1007,
      path: 'pages/index/index',
      query: { sharer: 'friend-1', share_depth: '2', campaign: 'cny', scene: 'p7Kx2' },
    },
  })
  fake.launch()

  const url = wxa.webViewUrl('https://h5.example.com/promo?item=9&wxa_v=stale#reviews')

  const [base, rest] = url.split('?')
  const [search, hash] = rest.split('#')
  const query = parseQuery(search)
  assert.equal(base, 'https://h5.example.com/promo')
  assert.equal(hash, 'reviews')
  assert.deepEqual(query, {
    item: '9',
    [WEB_VIEW_PARAMS.visitor]: wxa.getUserId(),
    [WEB_VIEW_PARAMS.session]: wxa.getSessionId(),
    [WEB_VIEW_PARAMS.placement]: 'p7Kx2',
    [WEB_VIEW_PARAMS.campaign]: 'cny',
    [WEB_VIEW_PARAMS.sharer]: 'friend-1',
    [WEB_VIEW_PARAMS.depth]: '2',
    [WEB_VIEW_PARAMS.from]: 'mp',
  })
})

test('webViewUrl after identify hands over the logged-in id, and leaves out attribution the visit has not got', async () => {
  const { wxa } = await startLaunchedApp()
  const launchSession = wxa.getSessionId()
  wxa.identify('oUser-42')

  const query = parseQuery(wxa.webViewUrl('https://h5.example.com/a').split('?')[1])

  assert.equal(query.wxa_v, 'oUser-42')
  assert.equal(query.wxa_s, launchSession)
  assert.deepEqual(Object.keys(query).sort(), ['wxa_from', 'wxa_s', 'wxa_v'])
})
