import assert from 'node:assert/strict'
import { test } from 'node:test'

import { attributionFrom, createClient, retryAfterMs, uuid4, withShareParams } from '../wxanalytics.js'
import { createFakeWx } from './fake-wx.js'
import { CONFIG } from './setup.js'

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

test('uuid4 makes version 4 ids, also without crypto (Math.random fallback)', () => {
  const withCrypto = Array.from({ length: 500 }, () => uuid4())
  let seed = 1
  const lcg = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed / 2 ** 31
  }
  const withoutCrypto = Array.from({ length: 500 }, () => uuid4(lcg))

  for (const id of [...withCrypto, ...withoutCrypto]) assert.match(id, UUID_V4)
  assert.equal(new Set(withCrypto).size, 500)
  assert.equal(new Set(withoutCrypto).size, 500)
})

test('attribution tolerates broken percent-encoding instead of throwing', () => {
  assert.deepEqual(attributionFrom({ scene: '%E0%A4%A' }), { placement_scene: '%E0%A4%A' })
})

test('attribution is null when the launch carries no code, link or share', () => {
  assert.equal(attributionFrom({ id: '42' }), null)
  assert.equal(attributionFrom(undefined), null)
})

test('a link QR code with ?scene= wins over the short link path', () => {
  const q = encodeURIComponent('https://shop.example.com/landing?scene=c2p9&utm_source=poster')

  assert.deepEqual(attributionFrom({ q }), {
    placement_scene: 'c2p9',
    utm_source: 'poster',
    link: 'https://shop.example.com/landing?scene=c2p9&utm_source=poster',
  })
})

test('share parameters replace older ones and keep the page’s own query', () => {
  const path = withShareParams('/pages/a?id=1&sharer=old&share_depth=3', {
    sharer: 'new',
    share_depth: 4,
    campaign: undefined,
  })

  assert.equal(path, '/pages/a?id=1&sharer=new&share_depth=4')
})

test('Retry-After is read as seconds or as an HTTP date, in any header case', () => {
  const now = Date.parse('2026-11-28T08:00:00Z')

  assert.equal(retryAfterMs({ 'Retry-After': '12' }, now), 12_000)
  assert.equal(retryAfterMs({ 'retry-after': 'Sat, 28 Nov 2026 08:01:00 GMT' }, now), 60_000)
  assert.equal(retryAfterMs({}, now), undefined)
  assert.equal(retryAfterMs({ 'Retry-After': 'soon' }, now), undefined)
})

test('with autoTrack off, wrapApp and wrapPage do the tracking explicitly', async () => {
  const fake = createFakeWx()
  const wxa = createClient(fake.env)
  wxa.init({ ...CONFIG, autoTrack: false })
  fake.global.App(wxa.wrapApp({}))
  fake.definePage('pages/index/index', wxa.wrapPage({}))
  fake.definePage('pages/cart/cart', {})

  fake.launch()
  await fake.openPage('pages/index/index')
  await fake.openPage('pages/cart/cart')
  await wxa.flush()

  assert.deepEqual(
    fake
      .sent()
      .filter((e) => e.event_name === 'page_view')
      .map((e) => e.page),
    ['index'],
  )
})

test('wrapping a page that the patched Page wraps again counts each view once', async () => {
  const fake = createFakeWx()
  const wxa = createClient(fake.env)
  wxa.init(CONFIG)
  fake.global.App(wxa.wrapApp({}))
  fake.definePage('pages/index/index', wxa.wrapPage({}))

  fake.launch()
  await fake.openPage('pages/index/index')
  await wxa.flush()

  assert.equal(fake.sent().filter((e) => e.event_name === 'page_view').length, 1)
  assert.equal(fake.sent().filter((e) => e.event_name === 'app_launch').length, 1)
})

test('init refuses a missing server URL or ingest key with a clear message', () => {
  const wxa = createClient(createFakeWx().env)

  assert.throws(() => wxa.init({ serverUrl: 'https://x' }), /serverUrl and ingestKey/)
})

test('events tracked before init are kept and sent once init runs', async () => {
  const fake = createFakeWx()
  const wxa = createClient(fake.env)
  wxa.track('early_event')

  wxa.init(CONFIG)
  await fake.settle()

  assert.deepEqual(
    fake.sent().map((e) => e.event_name),
    ['session_start', 'early_event'],
  )
})

test('on the real runtime init wraps the global App and Page that page modules call', async () => {
  const fake = createFakeWx()
  const { global: _unused, ...runtime } = fake.env
  globalThis.App = fake.global.App
  globalThis.Page = fake.global.Page
  try {
    const wxa = createClient(runtime)
    wxa.init(CONFIG)
    globalThis.App({})
    fake.global.Page = globalThis.Page
    fake.definePage('pages/index/index', {})

    fake.launch()
    await fake.openPage('pages/index/index')
    await wxa.flush()

    assert.deepEqual(
      fake.sent().map((e) => e.event_name),
      ['session_start', 'app_launch', 'app_show', 'page_view', 'page_load_time'],
    )
  } finally {
    delete globalThis.App
    delete globalThis.Page
  }
})
