import assert from 'node:assert/strict'
import { test } from 'node:test'

import { parseQuery } from '../wxanalytics.js'
import { startApp } from './setup.js'

const CODE_SCAN = { scene: 1047, path: 'pages/goods/detail', query: { scene: 'c1a2p3b' } }
const sharePage = (path) => ({
  onShareAppMessage() {
    return { title: 'Look at this', path }
  },
})

function split(path) {
  const [base, search] = path.split('?')
  return { base, query: parseQuery(search) }
}

test('sharing appends the sharer, the next share depth and the original attribution to the shared path', async () => {
  const { fake, wxa } = startApp({
    launchOptions: CODE_SCAN,
    config: { pageTemplates: { 'pages/goods/detail': 'PDP' } },
    pages: { 'pages/goods/detail': sharePage('/pages/goods/detail?id=42') },
  })
  wxa.identify('o-alice')
  fake.launch()
  const page = await fake.openPage('pages/goods/detail', { id: '42' })

  const shared = fake.share(page, 'button')
  await wxa.flush()

  const { base, query } = split(shared.path)
  assert.equal(shared.title, 'Look at this')
  assert.equal(base, '/pages/goods/detail')
  assert.deepEqual(query, { id: '42', sharer: 'o-alice', share_depth: '1', scene: 'c1a2p3b' })
  const event = fake.sent().find((e) => e.event_name === 'share')
  assert.equal(event.user_id, 'o-alice')
  assert.equal(event.page, 'PDP')
  assert.equal(event.properties.share_depth, 1)
  assert.equal(event.properties.from, 'button')
  assert.equal(event.placement_scene, 'c1a2p3b')
})

test('a share handler that returns no path shares the current page with its query', async () => {
  const { fake } = startApp({ pages: { 'pages/goods/detail': { onShareAppMessage() {} } } })
  fake.launch()
  const page = await fake.openPage('pages/goods/detail', { id: '42' })

  const shared = fake.share(page)

  const { base, query } = split(shared.path)
  assert.equal(base, '/pages/goods/detail')
  assert.equal(query.id, '42')
  assert.equal(query.share_depth, '1')
})

test('a person opening a shared page is attributed to the sharer and the original campaign', async () => {
  const first = startApp({
    launchOptions: {
      scene: 1011,
      path: 'pages/index/index',
      query: { q: encodeURIComponent('https://wxa.example.com/r/c7p1?utm_campaign=23Q4-Sale') },
    },
    pages: { 'pages/goods/detail': sharePage('/pages/goods/detail?id=42') },
  })
  first.wxa.identify('o-alice')
  first.fake.launch()
  const shared = first.fake.share(await first.fake.openPage('pages/goods/detail', { id: '42' }))
  const { base, query } = split(shared.path)

  const second = startApp({ launchOptions: { scene: 1007, path: base.slice(1), query } })
  second.fake.launch()
  await second.fake.openPage('pages/goods/detail', query)
  second.wxa.track('add_to_cart', { sku: 'A1' })
  await second.wxa.flush()

  for (const event of second.fake.sent()) {
    assert.equal(event.placement_scene, 'c7p1', event.event_name)
    assert.equal(event.campaign, '23Q4-Sale', event.event_name)
    assert.equal(event.properties.sharer, 'o-alice', event.event_name)
    assert.equal(event.properties.share_depth, 1, event.event_name)
  }
  assert.equal(second.fake.sent().find((e) => e.event_name === 'app_launch').properties.wechat_scene, 1007)
})

test('a re-share increases the depth and keeps the original attribution, replacing the previous sharer', async () => {
  const { fake, wxa } = startApp({
    launchOptions: {
      scene: 1008,
      path: 'pages/goods/detail',
      query: { id: '42', sharer: 'o-alice', share_depth: '1', scene: 'c7p1', campaign: '23Q4-Sale' },
    },
    pages: { 'pages/goods/detail': sharePage('/pages/goods/detail?id=42&sharer=o-alice&share_depth=1') },
  })
  wxa.identify('o-bob')
  fake.launch()

  const shared = fake.share(await fake.openPage('pages/goods/detail', { id: '42' }))

  assert.deepEqual(split(shared.path).query, {
    id: '42',
    sharer: 'o-bob',
    share_depth: '2',
    campaign: '23Q4-Sale',
    scene: 'c7p1',
  })
})

test('the asynchronous share (a promise in the result) gets the same parameters', async () => {
  const { fake, wxa } = startApp({
    launchOptions: CODE_SCAN,
    pages: {
      'pages/goods/detail': {
        onShareAppMessage() {
          return {
            title: 'Now',
            path: '/pages/index/index',
            promise: Promise.resolve({ title: 'Later', path: '/pages/goods/detail?id=9' }),
          }
        },
      },
    },
  })
  fake.launch()
  const page = await fake.openPage('pages/goods/detail')

  const later = await fake.share(page).promise

  assert.equal(later.title, 'Later')
  assert.deepEqual(split(later.path).query, { id: '9', sharer: wxa.getUserId(), share_depth: '1', scene: 'c1a2p3b' })
})

test('pages without a share handler do not get one (the share menu stays as the developer set it)', async () => {
  const { fake } = startApp()
  fake.launch()

  const page = await fake.openPage('pages/cart/cart')

  assert.equal(page.onShareAppMessage, undefined)
})

test('a share to Moments appends the same parameters to the timeline query', async () => {
  const { fake, wxa } = startApp({
    launchOptions: CODE_SCAN,
    pages: {
      'pages/goods/detail': {
        onShareTimeline() {
          return { title: 'Deal', query: 'id=42' }
        },
      },
    },
  })
  wxa.identify('o-alice')
  fake.launch()
  const page = await fake.openPage('pages/goods/detail', { id: '42' })

  const shared = page.onShareTimeline()
  await wxa.flush()

  assert.equal(shared.title, 'Deal')
  assert.deepEqual(parseQuery(shared.query), { id: '42', sharer: 'o-alice', share_depth: '1', scene: 'c1a2p3b' })
  const event = fake.sent().find((e) => e.event_name === 'share')
  assert.equal(event.properties.to, 'timeline')
  assert.equal(event.properties.share_depth, 1)
})
