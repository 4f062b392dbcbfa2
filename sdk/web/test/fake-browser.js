/**
 * A minimal fake browser for the H5 snippet: one page load is one vm context running the real
 * script, with location/history, document visibility and click events, localStorage that outlives
 * the page (a Map passed to the next load), fetch with programmable answers, and a clock and
 * timers that only move when the test says so.
 */
import { readFileSync } from 'node:fs'
import vm from 'node:vm'

export const SCRIPT = readFileSync(new URL('../wxanalytics.js', import.meta.url), 'utf8')
export const NETWORK_ERROR = Symbol('network error')
export const WECHAT_UA = 'Mozilla/5.0 (iPhone) MicroMessenger/8.0.50 NetType/WIFI Language/zh_CN'
export const MINI_PROGRAM_UA = `${WECHAT_UA} miniProgram/wx1234567890`

export function acceptAll(req) {
  if (req.url.endsWith('/api/v1/identify')) return { status: 200, data: { user_id: req.body.user_id } }
  return { status: 200, data: { accepted: req.body.length, duplicates: 0, conflicts: 0, rejected: [] } }
}

/** A DOM element with attributes, a parent, and (for inputs) a value the snippet must never read. */
export function element(tagName, attrs = {}, parentNode = null, value = undefined) {
  return {
    tagName: tagName.toUpperCase(),
    id: attrs.id || '',
    parentNode,
    value,
    textContent: attrs.text || '',
    getAttribute: (name) => (name in attrs ? String(attrs[name]) : null),
  }
}

export function openPage(
  url,
  {
    storage = new Map(),
    userAgent = WECHAT_UA,
    startAt = Date.parse('2026-11-28T08:00:00Z'),
    config = { serverUrl: 'https://wxa.example.com', ingestKey: 'wxa_client_key' },
    autoInit = true,
    realFetch = false, // true: fetch does a real HTTP request (integration test)
    title = 'Promo',
    referrer = '',
  } = {},
) {
  let clock = startAt
  let nextTimer = 1
  const timers = new Map()
  const listeners = { window: {}, document: {} }
  const on = (target) => (type, fn) => {
    listeners[target][type] = listeners[target][type] || []
    listeners[target][type].push(fn)
  }
  const location = {}
  const setUrl = (href) => {
    const u = new URL(href)
    Object.assign(location, { href: u.href, pathname: u.pathname, search: u.search, hash: u.hash })
  }
  setUrl(url)

  const page = {
    storage,
    requests: [], // { url, headers, keepalive, body (parsed) }
    responses: [],
    server: acceptAll,
    location,
    history: [],
  }
  class FakeDate extends Date {
    constructor(...args) {
      super(...(args.length ? args : [clock]))
    }
    static now() {
      return clock
    }
  }
  const win = {
    Date: FakeDate,
    Uint8Array,
    crypto: globalThis.crypto,
    location,
    navigator: { userAgent },
    history: {
      state: null,
      replaceState: (_state, _title, href) => {
        page.history.push(href)
        setUrl(href)
      },
    },
    localStorage: {
      getItem: (k) => (storage.has(k) ? storage.get(k) : null),
      setItem: (k, v) => storage.set(k, String(v)),
      removeItem: (k) => storage.delete(k),
    },
    document: { title, referrer, visibilityState: 'visible', addEventListener: on('document') },
    addEventListener: on('window'),
    setTimeout: (fn, ms) => {
      const id = nextTimer++
      timers.set(id, { at: clock + Math.max(0, ms || 0), fn })
      return id
    },
    clearTimeout: (id) => timers.delete(id),
    fetch: (reqUrl, init) => {
      if (realFetch) {
        page.requests.push({ url: reqUrl, headers: init.headers, keepalive: init.keepalive, body: JSON.parse(init.body) })
        const { keepalive: _ignored, ...plain } = init // Node's fetch has no page to outlive
        return fetch(reqUrl, plain)
      }
      const req = { url: reqUrl, headers: init.headers, keepalive: init.keepalive, body: JSON.parse(init.body) }
      page.requests.push(req)
      const next = page.responses.length ? page.responses.shift() : page.server
      const res = typeof next === 'function' ? next(req) : next
      return new Promise((resolve) => setImmediate(resolve)).then(() => {
        if (res === NETWORK_ERROR) throw new TypeError('Failed to fetch')
        const headers = res.headers || {}
        return {
          status: res.status,
          headers: { get: (name) => (name in headers ? headers[name] : null) },
          text: async () => (typeof res.data === 'string' ? res.data : JSON.stringify(res.data)),
        }
      })
    },
  }
  win.window = win
  if (autoInit) win.wxaConfig = config
  vm.createContext(win)

  page.window = win
  page.wxa = () => win.wxa
  page.now = () => clock
  page.settle = async () => {
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve))
  }
  page.advance = async (ms) => {
    const end = clock + ms
    for (;;) {
      const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0]
      if (!due) break
      timers.delete(due[0])
      clock = Math.max(clock, due[1].at)
      due[1].fn()
      await page.settle()
    }
    clock = end
    await page.settle()
  }
  page.pendingTimers = () => [...timers.values()].map((t) => t.at - clock).sort((a, b) => a - b)
  const fire = (target, type, event = {}) => {
    for (const fn of listeners[target][type] || []) fn({ type, ...event })
  }
  page.hide = () => {
    win.document.visibilityState = 'hidden'
    fire('document', 'visibilitychange')
  }
  page.show = () => {
    win.document.visibilityState = 'visible'
    fire('document', 'visibilitychange')
  }
  /** Leaving the page: the browser hides it, then fires pagehide. */
  page.leave = () => {
    page.hide()
    fire('window', 'pagehide', { persisted: false })
  }
  page.click = (target) => fire('document', 'click', { target })
  page.sent = () => page.requests.filter((r) => r.url.endsWith('/api/v1/events')).flatMap((r) => r.body)
  page.named = (name) => page.sent().filter((e) => e.event_name === name)
  page.stored = () => JSON.parse(storage.get('wxa_queue') || '[]')

  vm.runInContext(SCRIPT, win)
  return page
}
