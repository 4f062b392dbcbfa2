import assert from 'node:assert/strict'
import { test } from 'node:test'

import { names, startApp } from './setup.js'

const CODE_SCAN = { scene: 1047, path: 'pages/index/index', query: { scene: 'c1a2p3b' } }

test('a launch from a Mini Program code sends app_launch and app_show with the scene value and the placement', async () => {
  const { fake, wxa } = startApp({ launchOptions: CODE_SCAN })

  fake.launch()
  await wxa.flush()

  const [sessionStart, launch, show] = fake.sent()
  assert.deepEqual(names(fake.sent()), ['session_start', 'app_launch', 'app_show'])
  assert.equal(launch.properties.wechat_scene, 1047)
  assert.equal(launch.placement_scene, 'c1a2p3b')
  assert.equal(show.placement_scene, 'c1a2p3b')
  assert.equal(launch.page, 'index')
  assert.equal(sessionStart.session_id, launch.session_id)
  assert.equal(show.session_id, launch.session_id)
})

test('every event has the event API fields, an ISO timestamp with zone and the mini_program source', async () => {
  const { fake, wxa } = startApp({ launchOptions: CODE_SCAN })

  fake.launch()
  wxa.track('add_to_cart', { sku: 'A1', value: 199, currency: 'CNY' })
  await wxa.flush()

  const cart = fake.sent().at(-1)
  assert.deepEqual(Object.keys(cart).sort(), [
    'app_id',
    'campaign',
    'currency',
    'event_id',
    'event_name',
    'page',
    'placement_scene',
    'properties',
    'session_id',
    'source',
    'ts',
    'user_id',
    'value',
  ])
  assert.equal(cart.source, 'mini_program')
  assert.equal(cart.app_id, 'wx1234567890')
  assert.equal(cart.value, '199')
  assert.equal(cart.currency, 'CNY')
  assert.deepEqual(cart.properties, { sku: 'A1' })
  assert.equal(cart.ts, '2026-11-28T08:00:00.000Z')
  assert.match(cart.event_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  assert.equal(fake.requests[0].url, 'https://wxa.example.com/api/v1/events')
  assert.equal(fake.requests[0].header.Authorization, 'Bearer wxa_test_key')
})

test('an URL-encoded query.scene is decoded before it becomes the placement scene', async () => {
  const { fake, wxa } = startApp({
    launchOptions: { scene: 1047, path: 'pages/index/index', query: { scene: 'p%3D3b%26x' } },
  })

  fake.launch()
  await wxa.flush()

  assert.equal(fake.sent()[1].placement_scene, 'p=3b&x')
})

test('an ordinary link QR code (query.q) to our short link attributes the placement', async () => {
  const link = encodeURIComponent('https://wxa.example.com/r/c9p42?utm_campaign=23Q4-Sale')
  const { fake, wxa } = startApp({
    launchOptions: { scene: 1011, path: 'pages/index/index', query: { q: link, scancode_time: '1764316800' } },
  })

  fake.launch()
  await wxa.flush()

  const launch = fake.sent()[1]
  assert.equal(launch.properties.wechat_scene, 1011)
  assert.equal(launch.placement_scene, 'c9p42')
  assert.equal(launch.campaign, '23Q4-Sale')
  assert.equal(launch.properties.link, 'https://wxa.example.com/r/c9p42?utm_campaign=23Q4-Sale')
})

test('events tracked before onLaunch already carry the launch attribution from getLaunchOptionsSync', async () => {
  const { fake, wxa } = startApp({ launchOptions: CODE_SCAN })

  wxa.track('api_error', { api: '/cart' })
  await wxa.flush()

  assert.equal(fake.sent()[0].placement_scene, 'c1a2p3b')
})

test('page_view is sent on every page show with the template mapped from the route', async () => {
  const { fake, wxa } = startApp({ config: { pageTemplates: { 'pages/goods/detail': 'PDP' } } })
  fake.launch()

  const home = await fake.openPage('pages/index/index')
  await fake.openPage('pages/goods/detail', { id: '42' })
  home.onShow()
  await wxa.flush()

  const views = fake.sent().filter((e) => e.event_name === 'page_view')
  assert.deepEqual(
    views.map((e) => e.page),
    ['index', 'PDP', 'index'],
  )
  assert.equal(views[1].properties.route, 'pages/goods/detail')
  assert.equal(views[1].properties.referrer, 'index')
})

test('events tracked on a page carry that page template', async () => {
  const { fake, wxa } = startApp({ config: { pageTemplates: { 'pages/goods/detail': 'PDP' } } })
  fake.launch()
  await fake.openPage('pages/goods/detail')

  wxa.track('add_to_cart', { sku: 'A1' })
  await wxa.flush()

  assert.equal(fake.sent().at(-1).page, 'PDP')
})

test('page_load_time measures onLoad to onReady in milliseconds', async () => {
  const { fake, wxa } = startApp()
  fake.launch()

  await fake.openPage('pages/cart/cart', {}, { loadMs: 340 })
  await wxa.flush()

  const timing = fake.sent().find((e) => e.event_name === 'page_load_time')
  assert.equal(timing.value, '340')
  assert.equal(timing.properties.ms, 340)
  assert.equal(timing.page, 'cart')
})

test('the developer’s own lifecycle handlers still run with their arguments and this', async () => {
  const seen = []
  const { fake } = startApp({
    app: {
      onLaunch(options) {
        seen.push(['launch', options.scene, typeof this.onHide])
      },
      onHide() {
        seen.push(['hide'])
      },
    },
    pages: {
      'pages/index/index': {
        data: { n: 1 },
        onLoad(query) {
          seen.push(['load', query.id, this.data.n])
        },
      },
    },
  })

  fake.launch(CODE_SCAN)
  await fake.openPage('pages/index/index', { id: '7' })
  fake.hide()

  assert.deepEqual(seen, [['launch', 1047, 'function'], ['load', '7', 1], ['hide']])
})

test('app_hide is sent and flushed at once, without waiting for the interval', async () => {
  const { fake } = startApp()
  fake.launch()
  await fake.advance(12_000)

  fake.hide()
  await fake.settle()

  assert.equal(fake.sent().at(-1).event_name, 'app_hide')
  assert.equal(fake.sent().at(-1).properties.duration_ms, 12_000)
  assert.equal(fake.stored().length, 0)
})

test('a show after 30 minutes in the background starts a new session and drops the old attribution', async () => {
  const { fake, wxa } = startApp({ launchOptions: CODE_SCAN })
  fake.launch()
  fake.hide()
  await fake.advance(31 * 60 * 1000)

  fake.show({ scene: 1001, path: 'pages/index/index', query: {} })
  await wxa.flush()

  const shows = fake.sent().filter((e) => e.event_name === 'app_show')
  assert.notEqual(shows[1].session_id, shows[0].session_id)
  assert.equal(shows[1].placement_scene, undefined)
  assert.equal(names(fake.sent()).filter((n) => n === 'session_start').length, 2)
})

test('a show after a short background keeps the session and its attribution', async () => {
  const { fake, wxa } = startApp({ launchOptions: CODE_SCAN })
  fake.launch()
  fake.hide()
  await fake.advance(5 * 60 * 1000)

  fake.show({ scene: 1001, path: 'pages/index/index', query: {} })
  await wxa.flush()

  const shows = fake.sent().filter((e) => e.event_name === 'app_show')
  assert.equal(shows[1].session_id, shows[0].session_id)
  assert.equal(shows[1].placement_scene, 'c1a2p3b')
})

test('identify replaces the anonymous id and tells the server both ids (and the unionid) are one person', async () => {
  const { fake, wxa } = startApp({ config: { appId: 'wxapp' } })
  const anonymous = wxa.getUserId()
  wxa.track('page_view')

  wxa.identify('o-openid-1', { unionid: 'u-union-1' })
  wxa.track('start_checkout')
  await wxa.flush()

  const [view, checkout] = fake.sent().filter((e) => e.event_name !== 'session_start')
  assert.equal(fake.wx.getStorageSync('wxa_anon_id'), anonymous)
  assert.equal(view.user_id, anonymous)
  assert.equal(checkout.user_id, 'o-openid-1')
  assert.equal(checkout.properties.unionid, 'u-union-1')
  assert.deepEqual(fake.links(), [
    { user_id: 'o-openid-1', alias: anonymous, app_id: 'wxapp' },
    { user_id: 'o-openid-1', unionid: 'u-union-1', app_id: 'wxapp' },
  ])
  assert.equal(fake.requests[0].header.Authorization, 'Bearer wxa_test_key')
  // Every request names the device by its anonymous id, also after identify (per-device limits).
  assert.deepEqual(new Set(fake.requests.map((r) => r.header['X-Wxa-Device'])), new Set([anonymous]))
})

test('identify calls survive a restart and a server error, and are sent again until answered', async () => {
  const storage = new Map()
  const first = startApp({ storage })
  first.fake.server = () => ({ statusCode: 502, data: 'Bad Gateway' })
  first.wxa.identify('o-openid-1')
  await first.wxa.flush()

  const second = startApp({ storage })
  await second.fake.settle()

  assert.equal(first.fake.links().length, 1)
  assert.deepEqual(second.fake.links(), first.fake.links())
  assert.equal(second.wxa.getStats().links, 0)
  assert.equal(second.wxa.getUserId(), 'o-openid-1')
})

test('identifying again with the same id sends nothing new; a second user is not merged with the first', async () => {
  const { fake, wxa } = startApp()

  wxa.identify('o-openid-1')
  wxa.identify('o-openid-1')
  wxa.identify('o-openid-2')
  await wxa.flush()

  assert.equal(fake.links().length, 1)
  assert.equal(wxa.getUserId(), 'o-openid-2')
})

test('setCampaign attributes the following events', async () => {
  const { fake, wxa } = startApp()

  wxa.setCampaign({ campaign: '23Q4-Sale', placementScene: 'c1p2', source: 'wechat_ad' })
  wxa.track('select_coupon', { coupon: 'TEN' })
  await wxa.flush()

  const event = fake.sent()[0]
  assert.equal(event.campaign, '23Q4-Sale')
  assert.equal(event.placement_scene, 'c1p2')
  assert.equal(event.properties.utm_source, 'wechat_ad')
})

test('payAttach gives the campaign, placement scene and session for WeChat Pay’s attach field', async () => {
  const { fake, wxa } = startApp({
    launchOptions: { scene: 1047, path: 'pages/index/index', query: { scene: 'c1a2p3b', campaign: '23Q4-Sale' } },
  })
  fake.launch()

  const attach = wxa.payAttach()

  assert.equal(attach, `campaign=23Q4-Sale;scene=c1a2p3b;session=${wxa.getSessionId()}`)
  assert.ok(attach.length <= 128)
})

test('a session that times out while the app stays in the foreground restarts with session_start', async () => {
  const { fake, wxa } = startApp({ launchOptions: CODE_SCAN })
  fake.launch()
  await fake.advance(31 * 60 * 1000)

  wxa.track('add_to_cart')
  await wxa.flush()

  const events = fake.sent()
  assert.deepEqual(names(events).slice(-2), ['session_start', 'add_to_cart'])
  assert.notEqual(events.at(-1).session_id, events[0].session_id)
  assert.equal(events.at(-2).session_id, events.at(-1).session_id)
})
