/*! wxanalytics H5 snippet — zero dependencies; inline it or load it, then:
 *    wxa.init({ serverUrl: 'https://wxa.example.com', ingestKey: 'wxa_…' })
 *  or set window.wxaConfig = {…} before it loads. See README.md. */
;((w) => {
  const d = w.document
  const KEYS = { queue: 'wxa_queue', links: 'wxa_links', anon: 'wxa_anon_id', user: 'wxa_user_id' }
  Object.assign(KEYS, { session: 'wxa_session', context: 'wxa_context', leave: 'wxa_page_leave', stats: 'wxa_stats' })
  const HANDOVER = ['wxa_v', 'wxa_p', 'wxa_c', 'wxa_e', 'wxa_sig'] // signed by /r/<code> (docs/ingest.md)
  const FROM_MP = ['wxa_v', 'wxa_s', 'wxa_p', 'wxa_c', 'wxa_sh', 'wxa_d', 'wxa_src', 'wxa_from']
  const SHARE = ['sharer', 'share_depth', 'campaign', 'scene']
  const UTMS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'utm_term']
  const KEEPALIVE_MAX = 60000 // bytes; browsers cap keepalive bodies at 64 KB in total
  let cfg = {
    serverUrl: '',
    ingestKey: '',
    flushInterval: 5000,
    maxBatch: 50,
    maxQueue: 1000,
    sessionTimeout: 30 * 60 * 1000,
    minBackoff: 1000,
    maxBackoff: 5 * 60 * 1000,
    pageView: true,
    trackClicks: false, // true: elements with data-wxa; 'all': also every link and button
    pageTemplates: {},
    globalProperties: {},
  }
  let queue = []
  let links = []
  let stats = { accepted: 0, duplicates: 0, rejected: 0, dropped: 0, retries: 0, requests: 0 }
  let ctx = {} // attribution of the session: placement_scene, campaign, utm_source, sharer, share_depth, handover
  let session = null
  let ids = {}
  let timer = null
  let draining = null
  const inFlight = new Set() // event_ids of requests not answered yet
  let blockedUntil = 0
  let failures = 0
  let authFailed = false
  let started = false
  let shownAt = 0
  let activeMs = 0
  const now = () => Date.now()

  function uuid4() {
    const b = new Uint8Array(16)
    if (w.crypto && w.crypto.getRandomValues) w.crypto.getRandomValues(b)
    else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256)
    b[6] = (b[6] & 15) | 64
    b[8] = (b[8] & 63) | 128
    const h = Array.from(b, (x) => (x + 256).toString(16).slice(1)).join('')
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
  }
  function read(key) {
    try {
      return JSON.parse(w.localStorage.getItem(key)) || ''
    } catch {
      return ''
    }
  }
  function write(key, value) {
    try {
      if (value === '') w.localStorage.removeItem(key)
      else w.localStorage.setItem(key, JSON.stringify(value))
    } catch {
      // Private mode or full: the memory queue still holds the events for this page.
    }
  }
  function params(search) {
    const out = {}
    for (const pair of String(search || '').replace(/^\?/, '').split('&')) {
      if (!pair) continue
      const at = pair.indexOf('=')
      const dec = (t) => {
        try {
          return decodeURIComponent(t.replace(/\+/g, ' '))
        } catch {
          return t
        }
      }
      out[dec(at < 0 ? pair : pair.slice(0, at))] = at < 0 ? '' : dec(pair.slice(at + 1))
    }
    return out
  }
  /** `url` with the names in `drop` removed and `extra` appended (empty values left out). */
  function withParams(url, drop, extra) {
    const [beforeHash, ...hash] = String(url).split('#')
    const [base, search] = beforeHash.split('?')
    const q = params(search)
    for (const k of drop) delete q[k]
    Object.assign(q, extra)
    const text = Object.keys(q)
      .filter((k) => q[k] !== undefined && q[k] !== null && q[k] !== '')
      .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(q[k])}`)
      .join('&')
    return base + (text ? `?${text}` : '') + (hash.length ? `#${hash.join('#')}` : '')
  }
  const inMiniProgram = () =>
    w.__wxjs_environment === 'miniprogram' || /miniProgram/i.test((w.navigator && w.navigator.userAgent) || '')
  const userId = () => ids.user || ids.anon

  function template(path) {
    const map = cfg.pageTemplates
    const mapped = typeof map === 'function' ? map(path) : map[path]
    return mapped || path.replace(/\/+$/, '').split('/').pop() || 'home'
  }
  const sessionExpired = () => !session || now() - session.lastSeen > cfg.sessionTimeout
  function touch() {
    if (sessionExpired()) session = { id: uuid4() }
    session.lastSeen = now()
    write(KEYS.session, session)
  }

  /**
   * Attribution the URL brings. A signed hand-over from /r/<code> is forwarded as is for the
   * server to verify (the snippet has no key to check it); the Mini Program's unsigned one is
   * believed only inside a Mini Program web-view, where only the Mini Program can set the URL.
   */
  function fromUrl(q) {
    const found = {}
    if (q.wxa_sig) {
      found.handover = {}
      for (const k of HANDOVER) found.handover[k] = q[k] || ''
      ids.anon = q.wxa_v
      found.placement_scene = q.wxa_p
      if (q.wxa_c) found.campaign = q.wxa_c
    } else if (q.wxa_from === 'mp' && q.wxa_v && inMiniProgram()) {
      ids.anon = q.wxa_v
      if (q.wxa_s) session = { id: q.wxa_s, lastSeen: now() }
      found.handover = 'mini_program'
      if (q.wxa_p) found.placement_scene = q.wxa_p
      if (q.wxa_c) found.campaign = q.wxa_c
      if (q.wxa_src) found.utm_source = q.wxa_src
      if (q.wxa_sh) {
        found.sharer = q.wxa_sh
        found.share_depth = Math.max(1, parseInt(q.wxa_d, 10) || 1)
      }
    }
    if (q.scene && !found.placement_scene) found.placement_scene = q.scene
    if (q.utm_campaign || q.campaign) found.campaign = found.campaign || q.utm_campaign || q.campaign
    if (q.utm_source) found.utm_source = q.utm_source
    if (q.sharer && !found.sharer) {
      found.sharer = q.sharer
      found.share_depth = Math.max(1, parseInt(q.share_depth, 10) || 1)
    }
    return found
  }

  function build(name, props) {
    const { value, currency, page, ...rest } = props || {}
    touch()
    const properties = { ...cfg.globalProperties, ...rest }
    for (const k of ['sharer', 'share_depth', 'utm_source']) if (ctx[k] !== undefined && !(k in properties)) properties[k] = ctx[k]
    if (ctx.handover) properties.handover = ctx.handover
    const e = {
      event_name: String(name),
      user_id: userId(),
      session_id: session.id,
      source: 'h5',
      campaign: ctx.campaign || null,
      page: page !== undefined ? String(page) : template(w.location.pathname),
      value: value === undefined || value === null ? null : String(value),
      currency: currency || null,
      ts: new Date(now()).toISOString(),
      event_id: uuid4(),
      properties,
    }
    if (ctx.placement_scene) e.placement_scene = ctx.placement_scene
    return e
  }
  function enqueue(e) {
    queue.push(e)
    if (queue.length > cfg.maxQueue) stats.dropped += queue.splice(0, queue.length - cfg.maxQueue).length
    write(KEYS.queue, queue)
    if (!started) return
    if (queue.length >= cfg.maxBatch) flush()
    else if (!timer) arm(cfg.flushInterval)
  }
  function track(name, props) {
    if (!name) throw new Error('wxa.track needs an event name')
    if (sessionExpired()) enqueue(build('session_start', {}))
    const e = build(name, props)
    enqueue(e)
    return e.event_id
  }
  function arm(ms) {
    clearTimeout(timer)
    timer = setTimeout(() => {
      timer = null
      flush()
    }, Math.max(0, ms))
  }

  /** One POST; resolves with { status, body } or { error }. keepalive lets it outlive the page. */
  function post(path, body, keepalive) {
    stats.requests++
    return w
      .fetch(cfg.serverUrl.replace(/\/+$/, '') + path, {
        method: 'POST',
        headers: { Authorization: `Bearer ${cfg.ingestKey}`, 'Content-Type': 'application/json' },
        body,
        keepalive: !!keepalive,
        credentials: 'omit',
      })
      .then((r) =>
        r.text().then((t) => {
          let b = {}
          try {
            b = JSON.parse(t) || {}
          } catch {}
          return { status: r.status, body: b, retryAfter: r.headers && r.headers.get('Retry-After') }
        }),
      )
      .catch((err) => ({ error: String(err) }))
  }
  function backoff(res) {
    failures++
    stats.retries++
    let delay
    const ra = res.retryAfter
    if ((res.status === 429 || res.status === 503) && ra !== null && ra !== undefined && ra !== '') {
      const s = Number(ra)
      delay = Number.isFinite(s) ? s * 1000 : Date.parse(ra) - now()
    }
    if (!(delay >= 0)) {
      const base = Math.min(cfg.maxBackoff, cfg.minBackoff * 2 ** (failures - 1))
      delay = base / 2 + (Math.random() * base) / 2
    }
    blockedUntil = now() + Math.min(Math.max(delay, cfg.minBackoff), cfg.maxBackoff)
    return false
  }
  /** ok | auth | too_large | refused | retry — the Mini Program SDK's rules. */
  function kind(res) {
    const s = res.status
    if (res.error || !s) return 'retry'
    if (s >= 200 && s < 300) return typeof res.body.accepted === 'number' || res.body.user_id ? 'ok' : 'retry'
    if (s === 401 || s === 403) return 'auth'
    if (s === 413) return 'too_large'
    return s === 400 || s === 422 ? 'refused' : 'retry'
  }
  function settle(batch, res) {
    const k = kind(res)
    if (k === 'auth') {
      authFailed = true // a wrong key does not fix itself; the events wait for the next page
      return false
    }
    if (k === 'retry') return backoff(res)
    if (k === 'too_large' && batch.length > 1) return batch.length >> 1
    if (k === 'ok') {
      stats.accepted += res.body.accepted || 0
      stats.duplicates += res.body.duplicates || 0
      stats.rejected += (res.body.rejected || []).length
      failures = 0
    } else stats.rejected += batch.length
    const sent = new Set(batch.map((e) => e.event_id))
    queue = queue.filter((e) => !sent.has(e.event_id))
    write(KEYS.queue, queue)
    write(KEYS.stats, stats)
    return true
  }
  async function drain(keepalive) {
    let limit = cfg.maxBatch
    const go = () => !authFailed && now() >= blockedUntil
    while (links.length && go()) {
      const res = await post('/api/v1/identify', JSON.stringify(links[0]), keepalive)
      const k = kind(res)
      if (k === 'auth') return settle([], res)
      if (k === 'retry') return backoff(res)
      links.shift()
      write(KEYS.links, links)
    }
    while (queue.length && go()) {
      const next = await send(limit, keepalive)
      if (!next) return
      if (typeof next === 'number') limit = next
    }
  }
  /** Posts the oldest events not already on their way; the answer settles them. */
  function send(limit, keepalive) {
    let batch = queue.filter((e) => !inFlight.has(e.event_id)).slice(0, limit)
    if (!batch.length) return Promise.resolve(false)
    let body = JSON.stringify(batch)
    while (keepalive && batch.length > 1 && body.length > KEEPALIVE_MAX) {
      batch = batch.slice(0, batch.length >> 1)
      body = JSON.stringify(batch)
    }
    for (const e of batch) inFlight.add(e.event_id)
    return post('/api/v1/events', body, keepalive).then((res) => {
      for (const e of batch) inFlight.delete(e.event_id)
      return settle(batch, res)
    })
  }
  /** Sends what is queued until the queue is empty or the server asks to wait; resolves with the stats. */
  function flush(keepalive) {
    if (!started) return Promise.resolve(getStats())
    clearTimeout(timer)
    timer = null
    if (draining) {
      // The page may be going away: what is not on its way yet cannot wait for the running request.
      if (keepalive === true && !authFailed && now() >= blockedUntil) send(cfg.maxBatch, true)
      return draining.then(() => flush())
    }
    draining = drain(keepalive === true).finally(() => {
      draining = null
      if ((queue.length || links.length) && !authFailed) arm(Math.max(blockedUntil - now(), cfg.flushInterval))
    })
    return draining.then(getStats)
  }
  function getStats() {
    return { ...stats, queued: queue.length, links: links.length, failures, blockedUntil, authFailed }
  }

  function identify(id, opts) {
    if (ids.user === String(id)) return
    if (!ids.user) links.push({ user_id: String(id), alias: ids.anon })
    ids.user = String(id)
    write(KEYS.user, ids.user)
    if (opts && opts.unionid) links.push({ user_id: ids.user, unionid: String(opts.unionid) })
    write(KEYS.links, links)
    if (started) arm(0)
  }

  /** The link for WeChat JS-SDK share settings: this visitor as sharer, one more hop, the placement kept. */
  function shareLink(url) {
    const depth = (Number(ctx.share_depth) || 0) + 1
    const extra = { sharer: userId(), share_depth: depth, campaign: ctx.campaign, scene: ctx.placement_scene }
    return withParams(url || w.location.href, HANDOVER.concat(FROM_MP, SHARE), extra)
  }

  // ---- time on page: foreground only; a hidden page pauses the clock ----
  function pause() {
    if (shownAt) activeMs += now() - shownAt
    shownAt = 0
    // If the browser discards the page now, the next page of this site reports the leave.
    write(KEYS.leave, { ms: activeMs, page: template(w.location.pathname), path: w.location.pathname, sid: session && session.id })
  }
  function resume() {
    if (!shownAt) shownAt = now()
    write(KEYS.leave, '')
  }
  function leave(how) {
    pause()
    write(KEYS.leave, '')
    track('page_leave', { value: activeMs, duration_ms: activeMs, path: w.location.pathname, how })
    activeMs = 0
  }
  function lastPageLeave() {
    const last = read(KEYS.leave)
    if (!last) return
    write(KEYS.leave, '')
    const expired = sessionExpired()
    const e = build('page_leave', { value: last.ms, duration_ms: last.ms, path: last.path, page: last.page, how: 'closed' })
    if (last.sid) e.session_id = last.sid
    if (expired) session = null // it belongs to the visit that ended; the next event opens a new one
    enqueue(e)
  }

  function onClick(ev) {
    let el = ev.target
    while (el && el.getAttribute && el.getAttribute('data-wxa') === null) {
      if (cfg.trackClicks === 'all' && /^(A|BUTTON)$/.test(el.tagName)) break
      el = el.parentNode
    }
    if (!el || !el.getAttribute) return
    const mark = el.getAttribute('data-wxa')
    const pos = el.getAttribute('data-wxa-index')
    // Only the id and our data-wxa* attributes: never an input's value or the element's text.
    const props = {
      element_id: el.id || null,
      element_name: el.getAttribute('data-wxa-name') || mark || el.id || el.tagName.toLowerCase(),
      tag: el.tagName.toLowerCase(),
      marked: mark !== null,
    }
    if (pos !== null && pos !== '' && Number.isFinite(Number(pos))) props.position = Number(pos)
    track('element_click', props)
  }

  function init(options) {
    cfg = { ...cfg, ...options }
    cfg.globalProperties = { ...cfg.globalProperties }
    if (!cfg.serverUrl || !cfg.ingestKey) throw new Error('wxa.init needs serverUrl and ingestKey')
    if (started) return api
    started = true
    const stored = read(KEYS.queue)
    queue = (Array.isArray(stored) ? stored : []).concat(queue)
    const leftover = queue.length
    links = read(KEYS.links) || []
    stats = { ...stats, ...read(KEYS.stats) }
    ids = { anon: read(KEYS.anon), user: read(KEYS.user) }
    session = read(KEYS.session) || null
    ctx = read(KEYS.context) || {}
    lastPageLeave() // with the attribution and session of the page it belongs to
    const q = params(w.location.search)
    const found = fromUrl(q)
    if (!ids.anon) ids.anon = uuid4()
    write(KEYS.anon, ids.anon)
    if (Object.keys(found).length) ctx = found
    else if (sessionExpired()) ctx = {} // a new visit without a link is direct
    write(KEYS.context, ctx)
    // The hand-over has been read: take it off the address bar so a copy or reload does not repeat it.
    if (w.history && w.history.replaceState && (q.wxa_v || q.wxa_sig)) {
      try {
        w.history.replaceState(w.history.state, '', withParams(w.location.href, HANDOVER.concat(FROM_MP), {}))
      } catch {}
    }
    if (cfg.pageView) {
      const utm = {}
      for (const k of UTMS) if (q[k]) utm[k] = q[k]
      track('page_view', { ...utm, path: w.location.pathname, title: d.title || '', referrer: d.referrer || null })
    }
    if (d.visibilityState !== 'hidden') shownAt = now()
    d.addEventListener('visibilitychange', () => {
      if (d.visibilityState === 'hidden') {
        pause()
        flush(true)
      } else resume()
    })
    w.addEventListener('pagehide', () => {
      leave('pagehide')
      flush(true)
    })
    if (cfg.trackClicks) d.addEventListener('click', onClick, true)
    arm(leftover ? 0 : cfg.flushInterval) // events an earlier page left go at once
    return api
  }

  const setGlobalProperties = (p) => {
    for (const k in p) p[k] === null ? delete cfg.globalProperties[k] : (cfg.globalProperties[k] = p[k])
  }
  const getUserId = () => userId()
  const getSessionId = () => session && session.id
  const api = { init, track, identify, flush, shareLink, setGlobalProperties, getUserId, getSessionId, getStats }
  w.wxa = api
  if (w.wxaConfig) init(w.wxaConfig)
})(typeof window !== 'undefined' ? window : globalThis)
