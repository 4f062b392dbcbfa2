import { createClient } from '../wxanalytics.js'
import { createFakeWx } from './fake-wx.js'

export const CONFIG = { serverUrl: 'https://wxa.example.com/', ingestKey: 'wxa_test_key', appId: 'wx1234567890' }

/**
 * A Mini Program as a developer writes it: app.js calls init, then App(); page modules call Page().
 * Returns the fake runtime and the SDK client; nothing is launched yet.
 */
export function startApp({ storage, launchOptions, config = {}, app = {}, pages = {} } = {}) {
  const fake = createFakeWx({ storage, launchOptions })
  const wxa = createClient(fake.env)
  wxa.init({ ...CONFIG, ...config })
  fake.global.App(app)
  const defaults = { 'pages/index/index': {}, 'pages/goods/detail': {}, 'pages/cart/cart': {} }
  for (const [route, options] of Object.entries({ ...defaults, ...pages })) fake.definePage(route, options)
  return { fake, wxa }
}

export const names = (events) => events.map((e) => e.event_name)

/**
 * startApp, launched, with the launch events already delivered and the request log cleared; the
 * server answers that delivery with zero counts, so the SDK's stats start at zero for the test.
 */
export async function startLaunchedApp(options) {
  const app = startApp(options)
  app.fake.responses.push({ statusCode: 200, data: { accepted: 0, duplicates: 0, conflicts: 0, rejected: [] } })
  app.fake.launch()
  await app.wxa.flush()
  app.fake.requests.length = 0
  return app
}
