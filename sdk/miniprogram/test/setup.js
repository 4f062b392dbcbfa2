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
