/**
 * wxanalytics Mini Program SDK — zero dependencies, one ES module.
 *
 *   import { init } from './wxanalytics.js'
 *   init({ serverUrl: 'https://wxa.example.com', ingestKey: 'wxa_…', appId: 'wx…' })
 *   App({ ... })   // App and Page are wrapped automatically from here on
 *
 * Events are queued in memory and in wx storage, sent in batches to POST /api/v1/events,
 * and only removed once the server has answered for them. Every event gets its event_id
 * when it is created, so a retry after a lost answer is a duplicate, never a double count.
 */

export const VERSION = '1.0.0'

const DEFAULTS = {
  serverUrl: '',
  ingestKey: '',
  appId: '',
  flushInterval: 5000, // ms after the first unsent event
  maxBatch: 50, // events per request; a full batch is sent at once
  maxQueue: 1000, // events kept (memory and storage); past it the oldest are dropped and counted
  sessionTimeout: 30 * 60 * 1000, // background time that starts a new session
  minBackoff: 1000,
  maxBackoff: 5 * 60 * 1000,
  requestTimeout: 10000,
  pageTemplates: {}, // route → template ("pages/goods/detail" → "PDP"), or a function
  autoTrack: true, // patch the global App and Page at init
  trackTaps: false, // true: element_click for elements with data-wxa; 'all': also every handler a page binds
  globalProperties: {}, // sent in the properties of every event (app version, store id, A/B variant)
  debug: false,
}
const SERVER_MAX_BATCH = 1000 // the event API's own limit
const KEYS = {
  queue: 'wxa_queue',
  links: 'wxa_links',
  anon: 'wxa_anon_id',
  user: 'wxa_user_id',
  unionid: 'wxa_unionid',
  stats: 'wxa_stats',
  leave: 'wxa_page_leave', // the page a hide paused, until the app shows again or the next launch
}
// Parameters the SDK appends to shared paths and reads back on open.
const SHARE_PARAMS = ['sharer', 'share_depth', 'campaign', 'scene']
const EMPTY_STATS = { accepted: 0, duplicates: 0, conflicts: 0, rejected: 0, dropped: 0, retries: 0, requests: 0 }
const PATCHED = '__wxanalytics__'
const LIFECYCLE = new Set([
  'onLoad', 'onShow', 'onReady', 'onHide', 'onUnload', 'onShareAppMessage', 'onShareTimeline',
  'onAddToFavorites', 'onPullDownRefresh', 'onReachBottom', 'onPageScroll', 'onResize', 'onTabItemTap',
  'onSaveExitState', 'data',
])
const TAP_TYPES = new Set(['tap', 'longpress', 'longtap'])
// Query parameters of the Mini Program → H5 hand-over (sdk/web reads them; docs/ingest.md).
export const WEB_VIEW_PARAMS = {
  visitor: 'wxa_v',
  session: 'wxa_s',
  placement: 'wxa_p',
  campaign: 'wxa_c',
  sharer: 'wxa_sh',
  depth: 'wxa_d',
  source: 'wxa_src',
  from: 'wxa_from',
}

/**
 * What a tap on a page tells us, or null if it is not a tap we record. Reads only the element's
 * id and our own data-wxa* attributes, never e.detail (where forms and inputs put their text).
 *   <view data-wxa="buy" data-wxa-name="Buy now" data-wxa-index="{{index}}" bindtap="onBuy">
 */
export function tapProperties(event, handler, mode) {
  if (!event || typeof event !== 'object' || !TAP_TYPES.has(event.type)) return null
  const target = event.currentTarget || event.target || {}
  const data = target.dataset || {}
  const marked = data.wxa !== undefined && data.wxa !== null
  if (!marked && mode !== 'all') return null
  const position = data.wxaIndex !== undefined ? data.wxaIndex : data.index
  const props = {
    element_id: target.id || null,
    element_name: String(data.wxaName || data.wxa || handler),
    handler,
    marked,
  }
  if (event.type !== 'tap') props.tap_type = event.type
  if (position !== undefined && position !== null && position !== '' && Number.isFinite(Number(position))) {
    props.position = Number(position)
  }
  return props
}

/** A random UUID v4; crypto.getRandomValues when the runtime has it, Math.random otherwise. */
export function uuid4(random = Math.random) {
  const bytes = new Uint8Array(16)
  const cryptoObj = typeof crypto !== 'undefined' ? crypto : null
  if (cryptoObj && cryptoObj.getRandomValues && random === Math.random) cryptoObj.getRandomValues(bytes)
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(random() * 256)
  bytes[6] = (bytes[6] & 0x0f) | 0x40
  bytes[8] = (bytes[8] & 0x3f) | 0x80
  const hex = Array.from(bytes, (b) => (b + 0x100).toString(16).slice(1)).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** decodeURIComponent that keeps the raw text when it is not valid percent-encoding. */
export function safeDecode(text) {
  if (text === undefined || text === null) return ''
  try {
    return decodeURIComponent(String(text))
  } catch {
    return String(text)
  }
}

export function parseQuery(text) {
  const query = {}
  for (const pair of String(text || '').split('&')) {
    if (!pair) continue
    const at = pair.indexOf('=')
    const key = safeDecode(at < 0 ? pair : pair.slice(0, at))
    query[key] = at < 0 ? '' : safeDecode(pair.slice(at + 1).replace(/\+/g, ' '))
  }
  return query
}

function buildQuery(query) {
  return Object.keys(query)
    .filter((k) => query[k] !== undefined && query[k] !== null && query[k] !== '')
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(query[k])}`)
    .join('&')
}

/**
 * Attribution found in App launch/show options (or a page's query):
 * - query.scene: the placement's scene value from a Mini Program code (URL-encoded, WECHAT.md §3.3);
 * - query.q: an ordinary link QR code; the link is our short link /r/<scene> or carries ?scene=;
 * - query.sharer / share_depth / campaign: a path produced by a share through this SDK.
 * Returns null when the options carry no attribution at all.
 */
export function attributionFrom(query) {
  query = query || {}
  const found = {}
  if (query.scene) found.placement_scene = safeDecode(query.scene)
  if (query.q) {
    const link = safeDecode(query.q)
    const [path, search] = link.split('#')[0].split('?')
    const linkQuery = parseQuery(search)
    const shortLink = /\/r\/([^/?#]+)\/?$/.exec(path)
    found.link = link
    if (linkQuery.scene) found.placement_scene = linkQuery.scene
    else if (shortLink) found.placement_scene = safeDecode(shortLink[1])
    if (linkQuery.utm_campaign || linkQuery.campaign) found.campaign = linkQuery.utm_campaign || linkQuery.campaign
    if (linkQuery.utm_source) found.utm_source = linkQuery.utm_source
  }
  const campaign = query.campaign || query.utm_campaign
  if (campaign) found.campaign = safeDecode(campaign)
  if (query.utm_source) found.utm_source = safeDecode(query.utm_source)
  if (query.sharer) {
    found.sharer = safeDecode(query.sharer)
    found.share_depth = Math.max(1, parseInt(query.share_depth, 10) || 1)
  }
  return Object.keys(found).length ? found : null
}

/** Splits `path?query` and returns it with the SDK's share parameters replaced by `extra`. */
export function withShareParams(path, extra) {
  const [base, search] = String(path || '').split('?')
  const query = parseQuery(search)
  for (const key of SHARE_PARAMS) delete query[key]
  const text = buildQuery({ ...query, ...extra })
  return text ? `${base}?${text}` : base
}

function parseJson(data) {
  if (typeof data !== 'string') return data || {}
  try {
    return JSON.parse(data) || {}
  } catch {
    return {}
  }
}

function headerValue(headers, name) {
  for (const key of Object.keys(headers || {})) if (key.toLowerCase() === name) return headers[key]
  return undefined
}

/** Retry-After in ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(headers, now) {
  const raw = headerValue(headers, 'retry-after')
  if (raw === undefined || raw === null || raw === '') return undefined
  const seconds = Number(raw)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const at = Date.parse(raw)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/**
 * A tracker bound to one runtime. `env` holds the platform pieces, so tests can pass a fake:
 * { wx, global (where App/Page live), setTimeout, clearTimeout, now, random, console }.
 */
export function createClient(env = {}) {
  const root = typeof globalThis !== 'undefined' ? globalThis : {}
  const rt = () => ({
    // `wx` is a global of the Mini Program runtime, also on base libraries without globalThis.
    wx: env.wx || (typeof wx !== 'undefined' ? wx : root.wx),
    setTimeout: env.setTimeout || ((fn, ms) => setTimeout(fn, ms)),
    clearTimeout: env.clearTimeout || ((id) => clearTimeout(id)),
    now: env.now || (() => Date.now()),
    random: env.random || Math.random,
    console: env.console || (typeof console !== 'undefined' ? console : null),
  })
  let cfg = { ...DEFAULTS }
  let initialised = false
  let loaded = false
  let queue = []
  let links = [] // pending POST /api/v1/identify bodies, kept like events until answered
  let stats = { ...EMPTY_STATS }
  let ids = { anon: '', user: '', unionid: '' }
  let session = null // { id, lastSeen }
  let context = {} // attribution of the current session
  let currentPage = ''
  let lastShowAt = 0
  let globals = {}
  let activePage = null // the page instance whose time is being counted
  let timer = null
  let draining = null
  let blockedUntil = 0
  let failures = 0
  let sendLimit = DEFAULTS.maxBatch
  let authFailed = false

  const log = (...args) => cfg.debug && rt().console && rt().console.log('[wxanalytics]', ...args)
  const warn = (...args) => rt().console && rt().console.warn('[wxanalytics]', ...args)

  function read(key) {
    try {
      const wx = rt().wx
      return wx ? wx.getStorageSync(key) : ''
    } catch {
      return ''
    }
  }
  function write(key, value) {
    try {
      const wx = rt().wx
      if (wx) wx.setStorageSync(key, value)
    } catch (err) {
      // Storage full (1 MB per key) or unavailable: the memory queue still holds the events.
      warn('storage write failed', key, err)
    }
  }

  function load() {
    if (loaded) return
    loaded = true
    const stored = read(KEYS.queue)
    const storedIds = new Set(Array.isArray(stored) ? stored.map((e) => e.event_id) : [])
    queue = (Array.isArray(stored) ? stored : []).concat(queue.filter((e) => !storedIds.has(e.event_id)))
    const storedLinks = read(KEYS.links)
    links = (Array.isArray(storedLinks) ? storedLinks : []).concat(links)
    const storedStats = read(KEYS.stats)
    if (storedStats && typeof storedStats === 'object') stats = { ...EMPTY_STATS, ...storedStats }
    ids = { anon: read(KEYS.anon), user: read(KEYS.user), unionid: read(KEYS.unionid) }
    if (!ids.anon) {
      ids.anon = uuid4(rt().random)
      write(KEYS.anon, ids.anon)
    }
  }

  const userId = () => ids.user || ids.anon
  let persistPending = false
  // One storage write per tick: a launch queues three events, and the queue can be ~500 KB.
  function persistQueue() {
    if (persistPending) return
    persistPending = true
    Promise.resolve().then(() => {
      persistPending = false
      write(KEYS.queue, queue)
    })
  }
  const persistStats = () => write(KEYS.stats, stats)

  function template(route) {
    const path = String(route || '')
      .replace(/^\//, '')
      .split('?')[0]
    const map = cfg.pageTemplates
    const mapped = typeof map === 'function' ? map(path) : map && (map[path] || map[`/${path}`])
    return mapped || path.split('/').pop() || ''
  }

  const sessionExpired = () => !session || rt().now() - session.lastSeen > cfg.sessionTimeout
  function touchSession() {
    if (sessionExpired()) session = { id: uuid4(rt().random) }
    session.lastSeen = rt().now()
  }

  /** Builds one row of the event API. `props.value`, `props.currency`, `props.page` go top-level. */
  function build(name, props) {
    const { value, currency, page, ...rest } = props || {}
    touchSession()
    const properties = { ...globals, ...rest }
    for (const key of ['sharer', 'share_depth', 'utm_source']) {
      if (context[key] !== undefined && properties[key] === undefined) properties[key] = context[key]
    }
    if (ids.unionid && properties.unionid === undefined) properties.unionid = ids.unionid
    const event = {
      event_name: String(name),
      user_id: userId(),
      session_id: session.id,
      source: 'mini_program',
      campaign: context.campaign || null,
      page: page !== undefined ? String(page) : currentPage || null,
      value: value === undefined || value === null ? null : String(value),
      currency: currency || null,
      ts: new Date(rt().now()).toISOString(),
      event_id: uuid4(rt().random),
      properties,
    }
    if (context.placement_scene) event.placement_scene = context.placement_scene
    if (cfg.appId) event.app_id = cfg.appId
    return event
  }

  function enqueue(event) {
    load()
    queue.push(event)
    if (queue.length > cfg.maxQueue) {
      const dropped = queue.length - cfg.maxQueue
      queue.splice(0, dropped)
      stats.dropped += dropped
      persistStats()
      warn(`queue over ${cfg.maxQueue} events: dropped the ${dropped} oldest`)
    }
    persistQueue()
    log('queued', event.event_name, event)
    schedule()
  }

  function schedule() {
    if (!initialised) return
    if (queue.length >= cfg.maxBatch) flush()
    else if (!timer) arm(rt().now() + cfg.flushInterval)
  }

  function arm(at) {
    const env = rt()
    if (timer) env.clearTimeout(timer)
    timer = env.setTimeout(
      () => {
        timer = null
        flush()
      },
      Math.max(0, at - env.now()),
    )
  }

  /** One POST; resolves with { statusCode, data, header } or { error }. Never rejects. */
  function post(path, body) {
    return new Promise((resolve) => {
      stats.requests++
      rt().wx.request({
        url: `${cfg.serverUrl.replace(/\/+$/, '')}${path}`,
        method: 'POST',
        // The anonymous id names the device: the server limits a client key per device and per address.
        header: {
          Authorization: `Bearer ${cfg.ingestKey}`,
          'Content-Type': 'application/json',
          'X-Wxa-Device': ids.anon,
        },
        data: JSON.stringify(body),
        timeout: cfg.requestTimeout,
        success: (res) => resolve(res || {}),
        fail: (err) => resolve({ error: (err && err.errMsg) || 'request failed' }),
      })
    })
  }

  function remove(batch) {
    const sent = new Set(batch.map((e) => e.event_id))
    queue = queue.filter((e) => !sent.has(e.event_id))
    persistQueue()
  }

  function backoff(delay) {
    failures++
    stats.retries++
    if (delay === undefined) {
      const base = Math.min(cfg.maxBackoff, cfg.minBackoff * 2 ** (failures - 1))
      delay = base / 2 + (rt().random() * base) / 2 // "equal jitter": never 0, never above the cap
    }
    delay = Math.min(Math.max(delay, cfg.minBackoff), cfg.maxBackoff)
    blockedUntil = rt().now() + delay
    log(`retrying in ${Math.round(delay)} ms`)
  }

  /** ok | auth | too_large | refused (4xx for the whole body) | retry (network, 5xx, 429, 404…). */
  function classify(res) {
    const status = res.statusCode
    if (res.error || !status) return 'retry'
    if (status >= 200 && status < 300) return 'ok'
    if (status === 401 || status === 403) return 'auth'
    if (status === 413) return 'too_large'
    if (status === 400 || status === 422) return 'refused'
    return 'retry'
  }

  function stop(status) {
    // A wrong or revoked key does not fix itself; keep everything for the next launch.
    authFailed = true
    warn(`the server refused the ingest key (HTTP ${status}); events stay queued`)
    return false
  }

  function retry(res) {
    log('send failed', res.statusCode || res.error)
    const status = res.statusCode
    backoff(status === 429 || status === 503 ? retryAfterMs(res.header, rt().now()) : undefined)
    return false
  }

  /** Applies one answer to the queue. Returns true when the next batch may go out now. */
  function settle(batch, res) {
    const kind = classify(res)
    if (kind === 'ok') {
      const body = parseJson(res.data)
      if (typeof body.accepted !== 'number') {
        // A 200 that is not the event API's answer (a wrong serverUrl, a proxy page): keep the events.
        warn('unexpected answer from the event API; is serverUrl right?', res.data)
        return retry(res)
      }
      stats.accepted += body.accepted
      stats.duplicates += body.duplicates || 0
      stats.conflicts += body.conflicts || 0
      for (const row of body.rejected || []) {
        stats.rejected++
        warn('event rejected by the server', batch[row.index] && batch[row.index].event_name, row.errors)
      }
      failures = 0
    } else if (kind === 'auth') {
      return stop(res.statusCode)
    } else if (kind === 'too_large' && batch.length > 1) {
      sendLimit = Math.max(1, Math.floor(batch.length / 2))
      return true
    } else if (kind === 'too_large' || kind === 'refused') {
      // Resending the same body unchanged would fail forever: drop it, count it, say so.
      warn(`the server refused ${batch.length} event(s) (HTTP ${res.statusCode})`, batch[0].event_name, res.data)
      stats.rejected += batch.length
    } else {
      return retry(res)
    }
    remove(batch)
    persistStats()
    return true
  }

  function settleLink(res) {
    const kind = classify(res)
    if (kind === 'auth') return stop(res.statusCode)
    if (kind === 'retry') return retry(res)
    if (kind !== 'ok') {
      warn(`the server refused an identify call (HTTP ${res.statusCode})`, res.data)
      stats.rejected++
      persistStats()
    }
    links.shift()
    write(KEYS.links, links)
    return true
  }

  async function drain() {
    sendLimit = cfg.maxBatch // a limit learned from 413 holds for the rest of this drain only
    const go = () => !authFailed && rt().now() >= blockedUntil
    while (links.length && go()) if (!settleLink(await post('/api/v1/identify', links[0]))) return
    while (queue.length && go()) {
      const batch = queue.slice(0, sendLimit)
      if (!settle(batch, await post('/api/v1/events', batch))) return
    }
  }

  /**
   * Sends what is queued, one request at a time, until the queue is empty or the server asks
   * us to wait. Resolves with the stats; safe to call often (calls join the running drain).
   */
  function flush() {
    if (!initialised) return Promise.resolve(getStats())
    load()
    if (timer) {
      rt().clearTimeout(timer)
      timer = null
    }
    if (!draining) {
      draining = drain().finally(() => {
        draining = null
        const now = rt().now()
        const pending = queue.length || links.length
        if (pending && !authFailed) arm(blockedUntil > now ? blockedUntil : now + cfg.flushInterval)
      })
    }
    return draining.then(getStats)
  }

  function getStats() {
    return { ...stats, queued: queue.length, links: links.length, failures, blockedUntil, authFailed }
  }

  /** Queues one event; returns its event_id. `props.value/currency/page` fill the top-level fields. */
  function track(name, props) {
    return record(name, props, {})
  }

  /** Every session, however it starts (launch, show, a tap after 30 idle minutes), opens with session_start. */
  function record(name, props, sessionProps) {
    if (!name) throw new Error('wxanalytics.track needs an event name')
    if (sessionExpired()) enqueue(build('session_start', sessionProps))
    const event = build(name, props)
    enqueue(event)
    return event.event_id
  }

  function identify(id, { unionid } = {}) {
    load()
    if (ids.user === String(id) && (!unionid || ids.unionid === String(unionid))) return
    const wasAnonymous = !ids.user
    ids.user = String(id)
    write(KEYS.user, ids.user)
    // Tells the server which ids are one person: the anonymous id used so far, and the unionid.
    if (wasAnonymous) links.push({ user_id: ids.user, alias: ids.anon, app_id: cfg.appId })
    if (unionid) {
      ids.unionid = String(unionid)
      write(KEYS.unionid, ids.unionid)
      links.push({ user_id: ids.user, unionid: ids.unionid, app_id: cfg.appId })
    }
    write(KEYS.links, links)
    if (initialised && !timer) arm(rt().now() + cfg.flushInterval)
  }

  function setCampaign({ campaign, placementScene, source } = {}) {
    if (campaign !== undefined) context.campaign = campaign || undefined
    if (placementScene !== undefined) context.placement_scene = placementScene || undefined
    if (source !== undefined) context.utm_source = source || undefined
  }

  /** Launch/show options → session attribution; events for app_launch / app_show. */
  function applyLaunch(options, eventName) {
    options = options || {}
    const found = attributionFrom(options.query)
    if (found) context = found
    else if (session && sessionExpired()) context = {} // a new visit without a code or link is direct
    const props = {
      wechat_scene: options.scene === undefined ? null : Number(options.scene) || options.scene,
      path: options.path || '',
      page: options.path ? template(options.path) : undefined,
    }
    if (found && found.link) props.link = found.link
    if (options.referrerInfo && options.referrerInfo.appId) props.referrer_app_id = options.referrerInfo.appId
    return record(eventName, props, { ...props })
  }

  /** Properties sent with every event from now on (an event's own properties win); `null` removes one. */
  function setGlobalProperties(props) {
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined) delete globals[key]
      else globals[key] = value
    }
  }

  // ---- time on page: foreground time only; a hide pauses the clock, a show resumes it ----
  function pageState(page) {
    if (!page.__wxa) page.__wxa = { loadedAt: rt().now(), query: {}, ready: false }
    const state = page.__wxa
    if (state.activeMs === undefined) Object.assign(state, { activeMs: 0, shownAt: null, left: false })
    return state
  }
  function pausePage(page) {
    const state = pageState(page)
    if (state.shownAt !== null) state.activeMs += Math.max(0, rt().now() - state.shownAt)
    state.shownAt = null
  }
  function leavePage(page, how) {
    const state = pageState(page)
    if (state.left) return
    pausePage(page)
    state.left = true
    if (activePage === page) activePage = null
    const ms = state.activeMs
    track('page_leave', { value: ms, duration_ms: ms, route: page.route || '', page: template(page.route), how })
  }
  /** A page paused by an app hide: kept in storage, so a kill in the background loses nothing. */
  function rememberPausedPage() {
    if (!activePage) return write(KEYS.leave, '')
    const state = pageState(activePage)
    write(KEYS.leave, {
      route: activePage.route || '',
      page: template(activePage.route),
      duration_ms: state.activeMs,
      session_id: session && session.id,
      ts: new Date(rt().now()).toISOString(),
    })
  }
  /** At a cold start: the page the previous run was on when it was closed in the background. */
  function leaveFromLastRun() {
    const last = read(KEYS.leave)
    if (!last || typeof last !== 'object') return
    write(KEYS.leave, '')
    const expired = sessionExpired()
    const event = build('page_leave', {
      value: last.duration_ms,
      duration_ms: last.duration_ms,
      route: last.route,
      page: last.page,
      how: 'closed',
    })
    // It belongs to the visit that ended, not to the one starting now.
    if (last.session_id) event.session_id = last.session_id
    if (last.ts) event.ts = last.ts
    if (expired) session = null // so the visit starting now opens with its own session_start
    enqueue(event)
  }

  function wrapHandler(name, handler) {
    return function (...args) {
      const props = cfg.trackTaps && tapProperties(args[0], name, cfg.trackTaps)
      if (props) track('element_click', { ...props, page: template(this.route) })
      return handler.apply(this, args)
    }
  }

  function wrapApp(appOptions = {}) {
    if (appOptions[PATCHED]) return appOptions
    const wrapped = { ...appOptions, [PATCHED]: true }
    const call = (name, self, args) => appOptions[name] && appOptions[name].apply(self, args)
    wrapped.onLaunch = function (...args) {
      leaveFromLastRun()
      applyLaunch(args[0], 'app_launch')
      return call('onLaunch', this, args)
    }
    wrapped.onShow = function (...args) {
      lastShowAt = rt().now()
      // Back after the session timeout: the page the user was on was left when the visit ended.
      if (activePage && sessionExpired()) leavePage(activePage, 'session_end')
      write(KEYS.leave, '')
      applyLaunch(args[0], 'app_show')
      return call('onShow', this, args)
    }
    wrapped.onHide = function (...args) {
      track('app_hide', { duration_ms: lastShowAt ? rt().now() - lastShowAt : null })
      rememberPausedPage()
      flush()
      return call('onHide', this, args)
    }
    return wrapped
  }

  function sharePath(path) {
    const depth = (Number(context.share_depth) || 0) + 1
    const extra = { sharer: userId(), share_depth: depth, campaign: context.campaign, scene: context.placement_scene }
    return { path: withShareParams(path, extra), depth }
  }

  function wrapPage(pageOptions = {}) {
    if (pageOptions[PATCHED]) return pageOptions
    const wrapped = { ...pageOptions, [PATCHED]: true }
    const call = (name, self, args) => pageOptions[name] && pageOptions[name].apply(self, args)
    wrapped.onLoad = function (...args) {
      this.__wxa = { loadedAt: rt().now(), query: args[0] || {}, ready: false }
      return call('onLoad', this, args)
    }
    wrapped.onShow = function (...args) {
      const referrer = currentPage
      // A page still counting (navigateTo hides it, then the next page shows): it was left.
      if (activePage && activePage !== this) leavePage(activePage, 'navigate')
      const state = pageState(this)
      if (state.left) Object.assign(state, { activeMs: 0, left: false }) // back to it: a new view
      state.shownAt = rt().now()
      activePage = this
      currentPage = template(this.route)
      track('page_view', { route: this.route || '', referrer: referrer || null })
      return call('onShow', this, args)
    }
    wrapped.onHide = function (...args) {
      // A page hide is either a navigation away or the app going to the background; the next
      // page's onShow tells which, so here the clock only pauses.
      pausePage(this)
      return call('onHide', this, args)
    }
    wrapped.onUnload = function (...args) {
      leavePage(this, 'unload')
      return call('onUnload', this, args)
    }
    wrapped.onReady = function (...args) {
      const state = this.__wxa
      if (state && !state.ready) {
        state.ready = true
        const ms = rt().now() - state.loadedAt
        track('page_load_time', { value: ms, ms, route: this.route || '', page: template(this.route) })
      }
      return call('onReady', this, args)
    }
    if (cfg.trackTaps) {
      for (const [name, value] of Object.entries(pageOptions)) {
        if (typeof value === 'function' && !LIFECYCLE.has(name)) wrapped[name] = wrapHandler(name, value)
      }
    }
    // Only pages that define a share handler can be shared; adding one would change the UI.
    if (typeof pageOptions.onShareAppMessage === 'function') {
      wrapped.onShareAppMessage = function (...args) {
        const res = args[0]
        const result = call('onShareAppMessage', this, args) || {}
        const query = buildQuery((this.__wxa && this.__wxa.query) || {})
        const fallback = `/${this.route || ''}${query ? `?${query}` : ''}`
        const { path, depth } = sharePath(result.path || fallback)
        const from = (res && res.from) || null
        track('share', { share_depth: depth, path, from, to: 'chat', page: template(this.route) })
        const out = { ...result, path }
        if (result.promise && typeof result.promise.then === 'function') {
          out.promise = result.promise.then((r) => (r && r.path ? { ...r, path: sharePath(r.path).path } : r))
        }
        return out
      }
    }
    // Moments (朋友圈) shares carry a query string instead of a path; opens arrive with scene 1154.
    if (typeof pageOptions.onShareTimeline === 'function') {
      wrapped.onShareTimeline = function (...args) {
        const result = call('onShareTimeline', this, args) || {}
        const own =
          result.query !== undefined ? String(result.query) : buildQuery((this.__wxa && this.__wxa.query) || {})
        const { path, depth } = sharePath(`?${own}`)
        const query = path.slice(1)
        track('share', { share_depth: depth, query, to: 'timeline', page: template(this.route) })
        return { ...result, query }
      }
    }
    return wrapped
  }

  const patch = (original, wrap) => {
    const patched = (options) => original(wrap(options))
    patched[PATCHED] = true
    return patched
  }
  const unpatched = (fn) => typeof fn === 'function' && !fn[PATCHED]

  function patchGlobals() {
    if (env.global) {
      if (unpatched(env.global.App)) env.global.App = patch(env.global.App, wrapApp)
      if (unpatched(env.global.Page)) env.global.Page = patch(env.global.Page, wrapPage)
      return
    }
    // App and Page are globals of the Mini Program runtime: assigning through the identifiers
    // reaches them in every page module, also on base libraries without globalThis.
    try {
      if (typeof App !== 'undefined' && unpatched(App)) App = patch(App, wrapApp)
      if (typeof Page !== 'undefined' && unpatched(Page)) Page = patch(Page, wrapPage)
    } catch (err) {
      warn('could not wrap App/Page automatically; use App(wrapApp({...})) and Page(wrapPage({...}))', err)
    }
  }

  function init(options = {}) {
    cfg = { ...DEFAULTS, ...options }
    if (!cfg.serverUrl || !cfg.ingestKey) throw new Error('wxanalytics.init needs serverUrl and ingestKey')
    if (!rt().wx) throw new Error('wxanalytics.init: no wx runtime found')
    cfg.maxBatch = Math.min(Math.max(1, cfg.maxBatch | 0), SERVER_MAX_BATCH)
    cfg.maxQueue = Math.max(cfg.maxBatch, cfg.maxQueue | 0)
    initialised = true
    load()
    setGlobalProperties(cfg.globalProperties)
    const wx = rt().wx
    if (wx.getLaunchOptionsSync) {
      const found = attributionFrom((wx.getLaunchOptionsSync() || {}).query)
      if (found) context = found
    }
    if (cfg.autoTrack) patchGlobals()
    if (queue.length || links.length) flush() // left by an earlier run
    return client
  }

  const getUserId = () => {
    load()
    return userId()
  }
  const getSessionId = () => session && session.id
  /** For WeChat Pay's `attach` (≤ 128 chars): lets the server attribute pay_success to this visit. */
  function payAttach() {
    touchSession()
    const parts = { campaign: context.campaign, scene: context.placement_scene, session: session.id }
    return Object.keys(parts)
      .filter((k) => parts[k])
      .map((k) => `${k}=${parts[k]}`)
      .join(';')
      .slice(0, 128)
  }
  /**
   * The URL for a <web-view src>: the H5 page's own URL with the visitor, session and current
   * attribution appended, so the H5 snippet continues the same person and journey.
   */
  function webViewUrl(url) {
    load()
    touchSession()
    const P = WEB_VIEW_PARAMS
    const extra = {
      [P.visitor]: userId(),
      [P.session]: session.id,
      [P.placement]: context.placement_scene,
      [P.campaign]: context.campaign,
      [P.sharer]: context.sharer,
      [P.depth]: context.sharer ? context.share_depth : undefined,
      [P.source]: context.utm_source,
      [P.from]: 'mp',
    }
    const [beforeHash, ...hash] = String(url || '').split('#')
    const [base, search] = beforeHash.split('?')
    const query = parseQuery(search)
    for (const name of Object.values(P)) delete query[name]
    const text = buildQuery({ ...query, ...extra })
    return `${base}${text ? `?${text}` : ''}${hash.length ? `#${hash.join('#')}` : ''}`
  }

  const client = { init, track, identify, setCampaign, flush, wrapApp, wrapPage, getStats, payAttach }
  return Object.assign(client, { getUserId, getSessionId, setGlobalProperties, webViewUrl })
}

const defaultClient = createClient()
export const { init, track, identify, setCampaign, flush, wrapApp, wrapPage, getStats, payAttach } = defaultClient
export const { setGlobalProperties, webViewUrl } = defaultClient
export default defaultClient
