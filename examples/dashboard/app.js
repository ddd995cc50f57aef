// keybridge dashboard: reads only the public API under /api/v1 (same
// origin), shows the registry and the recent ledger entries, checks each
// entry's RFC 9162 inclusion proof in the browser with Web Crypto SHA-256
// against the latest checkpoint, and follows the ledger live through the
// Server-Sent Events stream /api/v1/events.
//
// The stream is read with fetch() and a streaming body reader rather than
// EventSource: EventSource cannot send an Authorization header, and the
// API asks for "Authorization: Bearer <api_token>" when its listener is
// not loopback.  The token, when one is needed, is asked for once and kept
// in sessionStorage (this tab only).  After a drop the stream resumes with
// Last-Event-ID, so no entry is missed.

const API = '/api/v1';
const TOKEN_KEY = 'keybridge.api_token';
const RECENT = 30;		// ledger entries shown
const KEYS_PAGE = 50;
const CERTS_PAGE = 50;
const EXPIRING_DAYS = 30;
const EXPIRING_SCAN_PAGES = 20;	// of 1000 certificates: bounds the scan
const STATUS_EVERY_MS = 30000;	// status poll besides the stream
const NAME_RE = /^[A-Za-z0-9._@-]{0,64}$/;
const KEYID_RE = /^[0-9a-f]{64}$/;

const $ = (id) => document.getElementById(id);

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  needToken: false,
  apiOk: null,		// last API call: true, false, or null (none yet)
  status: null,
  skew: 0,		// server clock - local clock, seconds
  checkpoint: null,	// { size, rootHex, time, note } from the signed note
  entries: new Map(),	// index -> entry JSON
  proofs: new Map(),	// index -> { state, size, why }
  verifyGen: 0,
  keyNames: new Map(),	// key id -> name, for entry summaries
  keys: { next: null, shown: 0, rows: new Map() },
  certs: { next: null, shown: 0, rows: new Map() },
  stream: { state: 'off', lastId: null, from: null, retry: 2000, ctrl: null, gen: 0 },
  timers: {},
};

// ---- small helpers --------------------------------------------------------

// h('td', {class: 'x', title: 'y'}, child...): an element; children are
// nodes or text (never parsed as HTML).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('data-')) el.setAttribute(k, v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function badge(text, kind, title) {
  return h('span', { class: `badge badge-${kind}`, title, 'data-status': text }, text);
}

function shortId(id, n = 12) {
  return id ? id.slice(0, n) + '…' : '–';
}

function fmtDate(s) {
  return s ? s.slice(0, 10) : '–';
}

function fmtAge(sec) {
  if (sec === null || sec === undefined || !isFinite(sec)) return '–';
  sec = Math.max(0, Math.round(sec));
  if (sec < 60) return `${sec} s ago`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min ago`;
  if (sec < 86400) return `${Math.floor(sec / 3600)} h ago`;
  return `${Math.floor(sec / 86400)} d ago`;
}

function debounce(name, ms, fn) {
  clearTimeout(state.timers[name]);
  state.timers[name] = setTimeout(() => {
    fn().catch(reportError);
  }, ms);
}

// Errors the page expects (the network, the API refusing) are shown in
// the page; anything else is a bug and goes to the console as well.
class ApiError extends Error {}
class AuthNeeded extends Error {}

function reportError(e) {
  if (e instanceof AuthNeeded) return;
  if (e instanceof ApiError || e instanceof TypeError) {
    setApiOk(false, e.message);
    return;
  }
  console.error(e);
}

// ---- the API -------------------------------------------------------------------

function authHeaders(extra) {
  const hd = Object.assign({}, extra || {});
  if (state.token) hd.Authorization = `Bearer ${state.token}`;
  return hd;
}

// GET API + path as JSON.  Throws AuthNeeded after a 401 (and asks for
// the token), ApiError with the API's message for another error.
async function api(path) {
  const r = await fetch(API + path, {
    headers: authHeaders({ Accept: 'application/json' }),
    cache: 'no-store',
  });
  if (r.status === 401) {
    askToken(Boolean(state.token));
    throw new AuthNeeded();
  }
  let body = null;
  try {
    body = await r.json();
  } catch (_) {
    body = null;
  }
  if (!r.ok) {
    const msg = body && body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${r.status}`;
    throw new ApiError(`${path}: ${msg}`);
  }
  setApiOk(true);
  return body;
}

function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}

// ---- token ------------------------------------------------------------------------

function askToken(refused) {
  state.needToken = true;
  stopStream();
  $('token-error').hidden = !refused;
  $('token-overlay').hidden = false;
  $('token-input').focus();
}

function onTokenSubmit(ev) {
  ev.preventDefault();
  const t = $('token-input').value.trim();
  if (!t) return;
  state.token = t;
  sessionStorage.setItem(TOKEN_KEY, t);
  state.needToken = false;
  $('token-overlay').hidden = true;
  $('token-input').value = '';
  start().catch(reportError);
}

// ---- Merkle proofs (RFC 9162 2.1.3.2) ------------------------------------------------

const enc = new TextEncoder();

async function sha256(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const buf = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    buf.set(p, o);
    o += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
}

const leafHash = (bytes) => sha256(Uint8Array.of(0), bytes);
const nodeHash = (l, r) => sha256(Uint8Array.of(1), l, r);

function hexToBytes(hex) {
  if (typeof hex !== 'string' || !/^([0-9a-f]{2})*$/.test(hex)) throw new Error('not lowercase hex');
  const b = new Uint8Array(hex.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(hex.substr(i * 2, 2), 16);
  return b;
}

function bytesToHex(b) {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function b64ToHex(s) {
  const bin = atob(s);
  return bytesToHex(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

// The root that proof leads to from leaf (index in a tree of size), or
// null when the proof has the wrong length.  Indexes stay far below 2^53.
async function rootFromProof(index, size, leaf, proof) {
  if (index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const hex of proof) {
    const p = hexToBytes(hex);
    if (p.length !== 32 || sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

// Parses a C2SP tlog-checkpoint note: origin, size, base64 root, then
// "time N" among the extension lines.
function parseCheckpoint(note) {
  const lines = note.split('\n');
  const size = Number(lines[1]);
  if (!Number.isSafeInteger(size) || !/^[A-Za-z0-9+/]+=*$/.test(lines[2] || '')) return null;
  let time = null;
  for (let i = 3; i < lines.length && lines[i] !== ''; i++) {
    const m = /^time (\d+)$/.exec(lines[i]);
    if (m) time = Number(m[1]);
  }
  return { origin: lines[0], size, rootHex: b64ToHex(lines[2]), time, note };
}

// Checks entry e against the current checkpoint: the leaf hash computed
// here from the entry's exact text, the API's audit path, and the root of
// the signed note.  Returns { state: 'verified'|'failed'|'pending', why }.
async function verifyEntry(e, cp) {
  if (!cp || e.index >= cp.size) return { state: 'pending', why: 'not in a checkpoint yet' };
  const leaf = await leafHash(enc.encode(e.entry));
  if (bytesToHex(leaf) !== e.leaf_hash) return { state: 'failed', size: cp.size, why: 'the entry text does not hash to its leaf hash' };
  let p;
  try {
    p = await api(`/ledger/proof/inclusion${qs({ index: e.index, size: cp.size })}`);
  } catch (err) {
    if (err instanceof AuthNeeded) throw err;
    return { state: 'failed', size: cp.size, why: `no proof: ${err.message}` };
  }
  if (p.index !== e.index || p.tree_size !== cp.size || !Array.isArray(p.proof)) {
    return { state: 'failed', size: cp.size, why: 'the proof is for another leaf or tree' };
  }
  let root;
  try {
    root = await rootFromProof(e.index, cp.size, leaf, p.proof);
  } catch (_) {
    root = null;
  }
  if (root === null) return { state: 'failed', size: cp.size, why: 'the audit path is malformed' };
  if (bytesToHex(root) !== cp.rootHex) return { state: 'failed', size: cp.size, why: 'the audit path does not lead to the checkpoint root' };
  return { state: 'verified', size: cp.size, why: `included in the checkpoint of size ${cp.size}` };
}

// Checks every shown entry against the current checkpoint (newest first)
// unless it was checked against a checkpoint of that size already: a new
// checkpoint re-checks them all.  A newer run stops older ones.
async function verifyAll() {
  const gen = ++state.verifyGen;
  const cp = state.checkpoint;
  const idx = [...state.entries.keys()].sort((a, b) => b - a);
  for (const i of idx) {
    const e = state.entries.get(i);
    const done = state.proofs.get(i);
    if (!e || (cp && done && done.state !== 'pending' && done.size === cp.size)) continue;
    const res = await verifyEntry(e, cp);
    if (gen !== state.verifyGen) return;
    state.proofs.set(i, res);
    renderProof(i);
  }
  renderProofSummary();
}

// ---- status header --------------------------------------------------------------------

function setApiOk(ok, why) {
  state.apiOk = ok;
  state.apiWhy = why || '';
  renderHealth();
}

function renderHealth() {
  const el = $('health');
  let text = 'connecting';
  let kind = 'muted';
  let title = '';
  if (state.needToken) {
    text = 'token needed';
    kind = 'warn';
  } else if (state.apiOk === false) {
    text = 'unreachable';
    kind = 'bad';
    title = state.apiWhy;
  } else if (state.apiOk) {
    const ca = state.status && (state.status.issuers || []).find((i) => i.role === 'issuing');
    if (state.stream.state !== 'live') {
      text = 'degraded';
      kind = 'warn';
      title = 'the event stream is reconnecting';
    } else if (ca && ca.days_left < EXPIRING_DAYS) {
      text = 'CA expiring';
      kind = 'warn';
      title = `the issuing CA expires in ${ca.days_left} days`;
    } else {
      text = 'healthy';
      kind = 'good';
      title = 'API answering, event stream live';
    }
  }
  el.className = `badge badge-${kind}`;
  el.textContent = text;
  el.title = title;
  el.dataset.status = text;
}

function setStreamState(s) {
  state.stream.state = s;
  const el = $('stream-state');
  const kinds = { live: 'good', connecting: 'muted', reconnecting: 'warn', off: 'muted' };
  el.className = `badge badge-${kinds[s] || 'muted'}`;
  el.textContent = s;
  el.dataset.status = s;
  renderHealth();
}

function setCheckpoint(cp) {
  if (!cp) return;
  if (state.checkpoint && cp.size < state.checkpoint.size) return;	// an older one
  const changed = !state.checkpoint || state.checkpoint.size !== cp.size || state.checkpoint.rootHex !== cp.rootHex;
  state.checkpoint = cp;
  $('tree-size').textContent = cp.size.toLocaleString('en-US');
  $('tree-size').dataset.size = String(cp.size);
  renderAge();
  if (changed) debounce('verify', 150, verifyAll);
}

function renderAge() {
  const cp = state.checkpoint;
  const el = $('checkpoint-age');
  if (!cp || cp.time === null) {
    el.textContent = '–';
    return;
  }
  const now = Date.now() / 1000 + state.skew;
  el.textContent = fmtAge(now - cp.time);
  el.title = `checkpoint of size ${cp.size} at ${new Date(cp.time * 1000).toISOString()}\nroot ${cp.rootHex}`;
}

async function loadStatus() {
  const s = await api('/status');
  state.status = s;
  const cpt = s.checkpoint ? Date.parse(s.checkpoint.time) / 1000 : null;
  if (cpt !== null && isFinite(cpt)) state.skew = cpt + s.checkpoint.age_seconds - Date.now() / 1000;
  $('bridge-version').textContent = `v${s.version} · ${s.storage} · ${s.consensus}`;
  if (s.checkpoint && s.checkpoint.note) setCheckpoint(parseCheckpoint(s.checkpoint.note));
  $('c-keys-active').textContent = s.keys.active;
  $('c-keys-revoked').textContent = s.keys.revoked;
  $('c-certs-good').textContent = s.certificates.good;
  $('c-certs-revoked').textContent = s.certificates.revoked;
  const exp = s.certificates.expiring_30d;
  $('c-expiring').textContent = exp;
  $('c-expiring').classList.toggle('warn', exp > 0);
  $('c-accounts').textContent = s.accounts;
  $('c-configs').textContent = s.configs;
  const ca = (s.issuers || []).find((i) => i.role === 'issuing');
  if (ca) {
    $('c-ca-days').textContent = ca.days_left;
    $('c-ca-days').classList.toggle('warn', ca.days_left < EXPIRING_DAYS);
    $('c-ca-note').textContent = `days left · until ${fmtDate(ca.not_after)}`;
  }
  renderValidators(s);
  $('last-update').textContent = `updated ${new Date().toLocaleTimeString('en-GB')}`;
  renderHealth();
  if (exp !== state.lastExpiring) {
    state.lastExpiring = exp;
    debounce('expiring', 200, loadExpiring);
  }
  return s;
}

// ---- validators (issue 14) -------------------------------------------------------------

function validatorRow(v) {
  const discarded = Object.entries(v.discarded || {}).filter(([, n]) => n > 0);
  const ndisc = discarded.reduce((a, [, n]) => a + n, 0);
  const st = !v.up ? badge('down', 'bad', `no answer (${v.unreachable} unreachable)`)
    : ndisc > 0 && v.accepted === 0 ? badge('discarded', 'bad', 'none of its cosignatures counted')
    : v.lag > 0 ? badge('lagging', 'warn', `${v.lag} entries behind`)
    : badge('up', 'good', `${v.accepted} cosignatures counted`);
  return h('tr', { 'data-name': v.name },
    h('td', { title: `${v.role} · ${v.url}\n${v.vkey}` }, v.name),
    h('td', {}, st),
    h('td', { class: 'num' }, v.cosigned_size),
    h('td', { class: 'num' }, v.lag),
    h('td', { class: 'num' }, `${Number(v.latency_ms).toFixed(1)} ms`),
    h('td', { class: 'num', title: discarded.map(([r, n]) => `${r}: ${n}`).join('\n') || 'none' }, ndisc),
    h('td', { title: v.last_refusal_at ? `at ${v.last_refusal_at}` : '' }, v.last_refusal || '–'));
}

// The validators panel: each one's health from the status, or "solo".
function renderValidators(s) {
  const vs = s.validators || [];
  $('validators-solo').hidden = vs.length > 0;
  $('validators').hidden = vs.length === 0;
  if (vs.length === 0) {
    $('validators-summary').textContent = 'solo';
    return;
  }
  const f = s.finality;
  $('validators-summary').textContent = `quorum ${s.quorum} of ${vs.length} · final ${s.final_size}` +
    (f ? ` · finality p50 ${f.p50_ms.toFixed(1)} ms, p99 ${f.p99_ms.toFixed(1)} ms` : '');
  $('validators').tBodies[0].replaceChildren(...vs.map(validatorRow));
}

// ---- keys ------------------------------------------------------------------------------------

function keyFilters() {
  const name = $('keys-name').value.trim();
  const ok = NAME_RE.test(name);
  $('keys-name').classList.toggle('invalid', !ok);
  return ok ? { name, status: $('keys-status').value, profile: $('keys-profile').value } : null;
}

function keyRow(k, flash) {
  const names = [...(k.dns || []), ...(k.ip || [])].join(', ');
  const st = k.status === 'revoked'
    ? badge('revoked', 'bad', `revoked ${k.revoked_at || ''} (${k.reason || 'unspecified'}), entry #${k.revoked_index}`)
    : badge('active', 'good', `registered by ${k.account}`);
  const tr = h('tr', { 'data-key-id': k.key_id, 'data-name': k.name, class: flash ? 'flash' : null, title: 'Show this key\'s certificates' },
    h('td', { class: 'name' }, k.name),
    h('td', {}, st),
    h('td', {}, k.profile),
    h('td', { class: 'id', title: k.key_id }, shortId(k.key_id)),
    h('td', { class: 'names', title: names }, names || '–'),
    h('td', { title: `${k.not_before} to ${k.not_after}` }, fmtDate(k.not_after)),
    h('td', { class: 'id' }, `#${k.registered_index}`));
  tr.addEventListener('click', () => {
    $('certs-key').value = k.key_id;
    loadCerts(true).catch(reportError);
  });
  return tr;
}

// Loads the first page of keys (reset), the next page, or (refresh) as
// many keys as are shown again with the same filters, flashing the rows
// that are new or changed.
async function loadKeys(mode) {
  const f = keyFilters();
  if (!f) return;
  const more = mode === 'more';
  const limit = mode === 'refresh' ? Math.min(1000, Math.max(KEYS_PAGE, state.keys.shown)) : KEYS_PAGE;
  const r = await api(`/keys${qs({ ...f, limit, after: more ? state.keys.next : '' })}`);
  const tbody = $('keys').tBodies[0];
  const old = state.keys.rows;
  const rows = more ? old : new Map();
  if (!more) tbody.replaceChildren();
  for (const k of r.keys) {
    const prev = old.get(k.key_id);
    const flash = mode === 'refresh' && (!prev || prev.status !== k.status);
    rows.set(k.key_id, k);
    state.keyNames.set(k.key_id, k.name);
    tbody.append(keyRow(k, flash));
  }
  state.keys.rows = rows;
  state.keys.next = r.next;
  state.keys.shown = rows.size;
  if (rows.size === 0) tbody.append(h('tr', {}, h('td', { colspan: 7, class: 'empty-row' }, 'No key matches.')));
  $('keys-more').hidden = !r.next;
  $('keys-count').textContent = `${rows.size} shown${r.next ? ', more available' : ''}`;
}

// ---- certificates ------------------------------------------------------------------------------

function certStatus(c) {
  if (c.status === 'revoked') return badge('revoked', 'bad', `revoked ${c.revoked_at || ''} (${c.reason || 'unspecified'})`);
  if (c.expired) return badge('expired', 'muted', `expired ${c.not_after}`);
  return badge('good', 'good', 'what OCSP answers');
}

function certRow(c, flash) {
  return h('tr', { 'data-serial': c.serial, class: flash ? 'flash' : null },
    h('td', { class: 'id', title: c.serial }, shortId(c.serial, 16)),
    h('td', {}, certStatus(c)),
    h('td', {}, c.profile),
    h('td', { class: 'id', title: c.key_id }, shortId(c.key_id)),
    h('td', { title: `${c.not_before} to ${c.not_after}` }, fmtDate(c.not_after)),
    h('td', { class: 'id' }, `#${c.issued_index}`));
}

function certFilters() {
  const key = $('certs-key').value.trim();
  const ok = key === '' || KEYID_RE.test(key);
  $('certs-key').classList.toggle('invalid', !ok);
  return ok ? { key_id: key, status: $('certs-status').value } : null;
}

// As loadKeys.  The API's filters apply to the certificates scanned, so a
// page may be short while `next` is set: pages are followed until one
// fills or the list ends.
async function loadCerts(mode) {
  const f = certFilters();
  if (!f) return;
  const more = mode === 'more';
  const want = mode === 'refresh' ? Math.min(1000, Math.max(CERTS_PAGE, state.certs.shown)) : CERTS_PAGE;
  const old = state.certs.rows;
  const rows = more ? old : new Map();
  const got = [];
  let after = more ? state.certs.next : '';
  let next = null;
  for (let pages = 0; pages < 10; pages++) {
    const r = await api(`/certs${qs({ ...f, limit: 1000, after })}`);
    let cut = false;
    for (const c of r.certificates) {
      if (got.length < want) got.push(c);
      else cut = true;
    }
    next = r.next;
    if (cut) next = got[got.length - 1].serial;	// the rest of this page
    if (got.length >= want || !next) break;
    after = next;
  }
  const tbody = $('certs').tBodies[0];
  if (!more) tbody.replaceChildren();
  for (const c of got) {
    const prev = old.get(c.serial);
    rows.set(c.serial, c);
    tbody.append(certRow(c, mode === 'refresh' && (!prev || prev.status !== c.status)));
  }
  state.certs.rows = rows;
  state.certs.next = next;
  state.certs.shown = rows.size;
  if (rows.size === 0) tbody.append(h('tr', {}, h('td', { colspan: 6, class: 'empty-row' }, 'No certificate matches.')));
  $('certs-more').hidden = !next;
  $('certs-count').textContent = `${rows.size} shown${next ? ', more available' : ''}`;
}

// Good certificates whose notAfter is within EXPIRING_DAYS, soonest
// first.  The API has no "expiring" filter: the scan reads good
// certificates in pages of 1000, at most EXPIRING_SCAN_PAGES of them, and
// only while the status says some are expiring.
async function loadExpiring() {
  const tbody = $('expiring').tBodies[0];
  const want = state.status ? state.status.certificates.expiring_30d : 0;
  const found = [];
  const now = Date.now() + state.skew * 1000;
  const horizon = now + EXPIRING_DAYS * 86400e3;
  let after = '';
  for (let pages = 0; want > 0 && pages < EXPIRING_SCAN_PAGES; pages++) {
    const r = await api(`/certs${qs({ status: 'good', limit: 1000, after })}`);
    for (const c of r.certificates) {
      const t = Date.parse(c.not_after);
      if (!c.expired && t >= now && t <= horizon) found.push(c);
    }
    if (!r.next || found.length >= want) break;
    after = r.next;
  }
  found.sort((a, b) => Date.parse(a.not_after) - Date.parse(b.not_after));
  tbody.replaceChildren(...found.map((c) => h('tr', { 'data-serial': c.serial },
    h('td', { class: 'id', title: c.serial }, shortId(c.serial, 16)),
    h('td', { class: 'id', title: c.key_id }, state.keyNames.get(c.key_id) || shortId(c.key_id)),
    h('td', { title: c.not_after }, fmtDate(c.not_after)),
    h('td', {}, badge(`${Math.max(0, Math.ceil((Date.parse(c.not_after) - now) / 86400e3))} d`, 'warn')))));
  $('expiring-empty').hidden = found.length > 0;
  $('expiring').parentElement.hidden = found.length === 0;
}

// ---- ledger entries --------------------------------------------------------------------------------

// The "key value" lines of an entry's body.
function entryFields(text) {
  const f = {};
  for (const line of text.split('\n').slice(1)) {
    if (line === '') break;
    const sp = line.indexOf(' ');
    if (sp > 0 && !(line.slice(0, sp) in f)) f[line.slice(0, sp)] = line.slice(sp + 1);
  }
  return f;
}

function entryWhat(e) {
  const f = entryFields(e.entry);
  const key = (id) => (state.keyNames.get(id) || shortId(id));
  switch (e.type) {
  case 'key-register':
    if (f['key-id'] && f.name) state.keyNames.set(f['key-id'], f.name);
    return `${f.name || '?'} (${f.profile || 'device'}) ${shortId(f['key-id'])}`;
  case 'key-revoke': return `${key(f['key-id'])}: ${f.reason || 'unspecified'}`;
  case 'cert-issued':
    return `serial ${shortId(f.serial, 16)} for ${key(f['key-id'])}` +
      (f.supersedes ? `, supersedes ${shortId(f.supersedes, 16)}` : '');
  case 'cert-revoked': return `serial ${shortId(f.serial, 16)}: ${f.reason || 'unspecified'}`;
  case 'account-create':
  case 'account-update': return `${f.name || e.account} (${f.role || '?'}, ${f.threshold || 1} of n)`;
  case 'config-publish': return `${f.group} ${f.version}`;
  case 'key-preauth': return `${f.name} (${f.profile || 'device'})`;
  default: return '';
  }
}

const TYPE_KIND = {
  'key-revoke': 'bad', 'cert-revoked': 'bad', 'key-register': 'info', 'cert-issued': 'good',
};

function entryItem(e, flash) {
  const mark = h('span', { class: 'proof' });
  const li = h('li', { class: `entry${flash ? ' flash' : ''}`, 'data-index': String(e.index), 'data-type': e.type, 'data-proof': 'pending' },
    h('details', {},
      h('summary', {},
        h('span', { class: 'entry-index' }, `#${e.index}`),
        h('span', { class: 'entry-main' },
          h('span', { class: 'entry-type' }, e.type),
          ' ',
          h('span', { class: `muted small` }, `by ${e.account} · ${e.ledger_time.replace('T', ' ').replace('Z', '')}`),
          h('div', { class: 'entry-what' }, entryWhat(e))),
        mark),
      h('div', { class: 'proof-detail' }),
      h('pre', {}, e.entry)));
  li.dataset.kind = TYPE_KIND[e.type] || 'muted';
  return li;
}

function renderProof(i) {
  const li = document.querySelector(`#entries li[data-index="${i}"]`);
  const res = state.proofs.get(i) || { state: 'pending', why: 'checking' };
  if (!li) return;
  const mark = li.querySelector('.proof');
  const b = res.state === 'verified' ? badge('verified', 'good', res.why)
    : res.state === 'failed' ? badge('failed', 'bad', res.why)
      : badge('pending', 'muted', res.why);
  mark.replaceChildren(b);
  li.dataset.proof = res.state;
  li.querySelector('.proof-detail').textContent = `Inclusion proof: ${res.state}, ${res.why}. Leaf hash ${state.entries.get(i).leaf_hash}.`;
}

function renderProofSummary() {
  let ok = 0;
  let bad = 0;
  for (const i of state.entries.keys()) {
    const p = state.proofs.get(i);
    if (p && p.state === 'verified') ok++;
    if (p && p.state === 'failed') bad++;
  }
  const cp = state.checkpoint;
  $('proof-summary').textContent = cp ? `${ok} verified${bad ? `, ${bad} failed` : ''} against tree size ${cp.size}` : '';
}

// Adds entries (from the list or the stream) to the recent list, newest
// on top, keeping RECENT of them.
function addEntries(list, flash) {
  const ol = $('entries');
  for (const e of list) {
    if (state.entries.has(e.index)) continue;
    state.entries.set(e.index, e);
    const li = entryItem(e, flash);
    let before = null;
    for (const other of ol.children) {
      if (Number(other.dataset.index) < e.index) {
        before = other;
        break;
      }
    }
    ol.insertBefore(li, before);
    renderProof(e.index);
    debounce('verify', 150, verifyAll);
  }
  const idx = [...state.entries.keys()].sort((a, b) => b - a);
  for (const i of idx.slice(RECENT)) {
    state.entries.delete(i);
    state.proofs.delete(i);
    const li = ol.querySelector(`li[data-index="${i}"]`);
    if (li) li.remove();
  }
}

async function loadEntries(size) {
  const from = Math.max(0, size - RECENT);
  const r = await api(`/ledger/entries${qs({ from, limit: RECENT })}`);
  addEntries(r.entries, false);
}

// ---- the event stream ----------------------------------------------------------------------------------

function onEvent(type, id, data) {
  let d;
  try {
    d = JSON.parse(data);
  } catch (_) {
    return;
  }
  if (type === 'checkpoint') {
    setCheckpoint(parseCheckpoint(d.checkpoint));
    debounce('status', 250, loadStatus);
    return;
  }
  if (id !== null) state.stream.lastId = Number(id);
  if (typeof d.index !== 'number' || typeof d.entry !== 'string') return;
  addEntries([d], true);
  if (d.type.startsWith('key-')) debounce('keys', 100, () => loadKeys('refresh'));
  if (d.type.startsWith('cert-') || d.type === 'key-revoke') debounce('certs', 100, () => loadCerts('refresh'));
}

// Reads a text/event-stream body (WHATWG HTML 9.2.6), calling onEvent per
// dispatched event, until the body ends.
async function readEvents(body, gen) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let type = '';
  let id = null;
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done || gen !== state.stream.gen) return;
    buf += value;
    let m;
    while ((m = /\r\n|\r|\n/.exec(buf)) !== null) {
      if (m[0] === '\r' && m.index === buf.length - 1) break;	// maybe \r\n
      const line = buf.slice(0, m.index);
      buf = buf.slice(m.index + m[0].length);
      if (line === '') {
        if (data.length) onEvent(type || 'message', id, data.join('\n'));
        type = '';
        id = null;
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      let v = c < 0 ? '' : line.slice(c + 1);
      if (v.startsWith(' ')) v = v.slice(1);
      if (field === 'event') type = v;
      else if (field === 'data') data.push(v);
      else if (field === 'id') id = v;
      else if (field === 'retry' && /^\d+$/.test(v)) state.stream.retry = Number(v);
    }
  }
}

function stopStream() {
  state.stream.gen++;
  if (state.stream.ctrl) state.stream.ctrl.abort();
  state.stream.ctrl = null;
  setStreamState('off');
}

// Keeps one stream open: from the tree size the page was loaded at, then
// after the last entry seen (Last-Event-ID), reconnecting after a drop.
async function runStream() {
  const gen = ++state.stream.gen;
  while (gen === state.stream.gen) {
    const ctrl = new AbortController();
    state.stream.ctrl = ctrl;
    if (state.stream.state !== 'reconnecting') setStreamState('connecting');
    try {
      const hd = authHeaders({ Accept: 'text/event-stream' });
      let url = `${API}/events`;
      if (state.stream.lastId !== null) hd['Last-Event-ID'] = String(state.stream.lastId);
      else url += qs({ from: state.stream.from });
      const r = await fetch(url, { headers: hd, cache: 'no-store', signal: ctrl.signal });
      if (r.status === 401) {
        askToken(Boolean(state.token));
        return;
      }
      if (!r.ok || !r.body) throw new ApiError(`event stream: HTTP ${r.status}`);
      setStreamState('live');
      await readEvents(r.body, gen);
    } catch (e) {
      if (gen !== state.stream.gen) return;
      if (!(e instanceof ApiError) && !(e instanceof TypeError) && e.name !== 'AbortError') console.error(e);
    }
    if (gen !== state.stream.gen) return;
    setStreamState('reconnecting');
    await new Promise((resolve) => {
      state.stream.wake = resolve;	// 'online' ends the wait early
      setTimeout(resolve, state.stream.retry);
    });
    state.stream.wake = null;
    // whatever happened meanwhile: the header and lists catch up
    loadStatus().catch(reportError);
  }
}

// ---- start ------------------------------------------------------------------------------------------------

async function start() {
  document.body.dataset.ready = '0';
  stopStream();
  const s = await loadStatus();
  if (!state.checkpoint) {
    const cp = await api('/ledger/checkpoint');
    setCheckpoint(parseCheckpoint(cp.checkpoint));
  }
  await Promise.all([loadEntries(s.tree_size), loadKeys('reset'), loadCerts('reset')]);
  if (state.stream.lastId === null) state.stream.from = s.tree_size;
  runStream().catch(reportError);
  document.body.dataset.ready = '1';
}

function wire() {
  $('token-form').addEventListener('submit', onTokenSubmit);
  for (const id of ['keys-name', 'keys-status', 'keys-profile']) {
    $(id).addEventListener('input', () => debounce('keys', 200, () => loadKeys('reset')));
  }
  for (const id of ['certs-key', 'certs-status']) {
    $(id).addEventListener('input', () => debounce('certs', 200, () => loadCerts('reset')));
  }
  for (const f of ['keys-filters', 'certs-filters']) $(f).addEventListener('submit', (ev) => ev.preventDefault());
  $('keys-more').addEventListener('click', () => loadKeys('more').catch(reportError));
  $('certs-more').addEventListener('click', () => loadCerts('more').catch(reportError));
  // A laptop that loses its network: the stream's connection may hang
  // rather than fail, so it is dropped at once, and taken up again (with
  // Last-Event-ID) as soon as the network is back.
  window.addEventListener('offline', () => {
    if (state.stream.ctrl) state.stream.ctrl.abort();
  });
  window.addEventListener('online', () => {
    if (state.stream.wake) state.stream.wake();
  });
  setInterval(renderAge, 1000);
  setInterval(() => {
    if (!state.needToken) loadStatus().catch(reportError);
  }, STATUS_EVERY_MS);
}

wire();
start().catch(reportError);
