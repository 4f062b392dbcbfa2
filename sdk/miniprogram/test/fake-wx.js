/**
 * A fake WeChat Mini Program runtime for tests: wx.request with programmable answers (or a real
 * HTTP POST through Node's fetch), wx storage that survives a simulated restart, launch options,
 * App/Page registration and their lifecycle, and timers that only move when the test says so.
 */

export const NETWORK_ERROR = Symbol('network error')

/** The server's answer when every row of the batch is new (or the identify call is taken). */
export function acceptAll(req) {
  if (req.url.endsWith('/api/v1/identify')) {
    return {
      statusCode: 200,
      data: { user_id: req.events.user_id, person_id: req.events.user_id, moved: 0, created: 1 },
    }
  }
  return { statusCode: 200, data: { accepted: req.events.length, duplicates: 0, conflicts: 0, rejected: [] } }
}

export function createFakeWx({
  storage = new Map(),
  launchOptions = { scene: 1001, path: 'pages/index/index', query: {} },
  realFetch = false,
  startAt = Date.parse('2026-11-28T08:00:00Z'),
} = {}) {
  let clock = startAt
  let nextTimerId = 1
  const timers = new Map() // id → { at, fn }
  const pageDefs = new Map() // route → options given to Page()
  const fake = {
    storage,
    launchOptions,
    requests: [], // every request as sent: { url, method, header, body, events (the parsed body) }
    responses: [], // answers used in order; then `server`
    server: acceptAll,
    hold: false, // keep requests pending until release()
    pending: [],
    warnings: [],
    writes: {}, // storage key → number of setStorageSync calls
    app: null,
    stack: [],
  }

  fake.now = () => clock
  fake.setTimeout = (fn, ms) => {
    const id = nextTimerId++
    timers.set(id, { at: clock + Math.max(0, ms || 0), fn })
    return id
  }
  fake.clearTimeout = (id) => timers.delete(id)
  fake.pendingTimers = () => [...timers.values()].map((t) => t.at - clock).sort((a, b) => a - b)

  /** Lets promises and request callbacks run. */
  fake.settle = async () => {
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve))
  }

  /** Moves the clock forward, firing due timers in order and settling after each. */
  fake.advance = async (ms) => {
    const end = clock + ms
    for (;;) {
      const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0]
      if (!due) break
      timers.delete(due[0])
      clock = Math.max(clock, due[1].at)
      due[1].fn()
      await fake.settle()
    }
    clock = end
    await fake.settle()
  }

  function answer(req) {
    const next = fake.responses.length ? fake.responses.shift() : fake.server
    return typeof next === 'function' ? next(req) : next
  }

  async function deliver(req, opts) {
    if (realFetch) {
      try {
        const res = await fetch(opts.url, { method: opts.method, headers: opts.header, body: opts.data })
        const text = await res.text()
        let data = text
        try {
          data = JSON.parse(text)
        } catch {
          // wx.request keeps a body that is not JSON as a string.
        }
        opts.success({ statusCode: res.status, data, header: Object.fromEntries(res.headers) })
      } catch (err) {
        opts.fail({ errMsg: `request:fail ${err.message}` })
      }
      return
    }
    const res = await answer(req)
    if (res === NETWORK_ERROR) opts.fail({ errMsg: 'request:fail timeout' })
    else opts.success({ header: {}, ...res })
  }

  const wx = {
    request(opts) {
      const body = typeof opts.data === 'string' ? opts.data : JSON.stringify(opts.data)
      const req = { url: opts.url, method: opts.method, header: opts.header, body, events: JSON.parse(body) }
      fake.requests.push(req)
      // Answers arrive as macrotasks, like real network responses.
      const go = () => new Promise((resolve) => setImmediate(resolve)).then(() => deliver(req, opts))
      if (fake.hold) fake.pending.push(go)
      else go()
    },
    getStorageSync(key) {
      return storage.has(key) ? JSON.parse(storage.get(key)) : ''
    },
    setStorageSync(key, value) {
      fake.writes[key] = (fake.writes[key] || 0) + 1
      storage.set(key, JSON.stringify(value))
    },
    removeStorageSync(key) {
      storage.delete(key)
    },
    getLaunchOptionsSync() {
      return JSON.parse(JSON.stringify(fake.launchOptions))
    },
  }
  fake.wx = wx

  /** Answers every held request (in order) and lets their callbacks run. */
  fake.release = async () => {
    fake.hold = false
    while (fake.pending.length) fake.pending.shift()()
    await fake.settle()
  }

  let registering = null
  fake.global = {
    App(options) {
      fake.app = { ...options }
    },
    Page(options) {
      pageDefs.set(registering, options)
    },
  }
  fake.getCurrentPages = () => [...fake.stack]

  /** What a page module does: Page({...}), for the page at `route`. */
  fake.definePage = (route, options) => {
    registering = route
    fake.global.Page(options)
    registering = null
  }

  /** Cold start: onLaunch then onShow with the launch options. */
  fake.launch = (options = fake.launchOptions) => {
    fake.launchOptions = options
    fake.app.onLaunch && fake.app.onLaunch.call(fake.app, JSON.parse(JSON.stringify(options)))
    fake.app.onShow && fake.app.onShow.call(fake.app, JSON.parse(JSON.stringify(options)))
  }
  /** Back from the background: App.onShow, then the top page's onShow, as WeChat orders them. */
  fake.show = (options = fake.launchOptions) => {
    if (fake.app.onShow) fake.app.onShow.call(fake.app, options)
    const page = fake.stack[fake.stack.length - 1]
    if (page && page.onShow) page.onShow()
  }
  fake.hide = () => {
    const page = fake.stack[fake.stack.length - 1]
    if (page && page.onHide) page.onHide()
    if (fake.app.onHide) fake.app.onHide.call(fake.app)
  }

  /** navigateTo: a new page instance runs onLoad, onShow and, after `loadMs`, onReady. */
  fake.openPage = async (route, query = {}, { loadMs = 0 } = {}) => {
    const options = pageDefs.get(route)
    if (!options) throw new Error(`no Page() registered for ${route}`)
    const page = { ...options, route, options: query }
    for (const [key, value] of Object.entries(page)) if (typeof value === 'function') page[key] = value.bind(page)
    fake.stack.push(page)
    if (page.onLoad) page.onLoad(query)
    if (page.onShow) page.onShow()
    if (loadMs) await fake.advance(loadMs)
    if (page.onReady) page.onReady()
    return page
  }

  /** navigateTo hides the current page before the next one loads. */
  fake.navigateTo = async (route, query = {}, opts = {}) => {
    const top = fake.stack[fake.stack.length - 1]
    if (top && top.onHide) top.onHide()
    return fake.openPage(route, query, opts)
  }

  /** navigateBack: the top page unloads, the one below shows again. */
  fake.navigateBack = () => {
    const top = fake.stack.pop()
    if (top && top.onUnload) top.onUnload()
    const below = fake.stack[fake.stack.length - 1]
    if (below && below.onShow) below.onShow()
  }

  /**
   * A tap on an element bound to `handler`: WeChat calls the page method with an event whose
   * currentTarget carries the element's id and data-* attributes (data-wxa-index → wxaIndex).
   */
  fake.tap = (page, handler, { id = '', dataset = {}, type = 'tap', detail = { x: 10, y: 20 } } = {}) =>
    page[handler]({ type, timeStamp: 1, currentTarget: { id, dataset }, target: { id, dataset }, detail })

  /** The user taps "share" (menu or button); returns what the page gave WeChat. */
  fake.share = (page, from = 'menu') => page.onShareAppMessage({ from })

  fake.env = {
    wx,
    global: fake.global,
    setTimeout: fake.setTimeout,
    clearTimeout: fake.clearTimeout,
    now: fake.now,
    console: { log() {}, warn: (...args) => fake.warnings.push(args.join(' ')) },
  }

  /** Every event sent to the event API, in order (retries included). */
  fake.sent = () => fake.requests.filter((r) => r.url.endsWith('/api/v1/events')).flatMap((r) => r.events)
  /** Every body sent to /api/v1/identify. */
  fake.links = () => fake.requests.filter((r) => r.url.endsWith('/api/v1/identify')).map((r) => r.events)
  fake.stored = () => wx.getStorageSync('wxa_queue') || []
  return fake
}
