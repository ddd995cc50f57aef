// configs.js: the dashboard's configurations view (issue 15): each group's
// published versions, newest first, and a side-by-side diff of two text
// versions with jsdiff (diff.min.js, vendored: window.Diff).  Reads
// /api/v1/configs and /api/v1/configs/GROUP/versions[/V/content] with the
// token app.js keeps in sessionStorage.

const API = '/api/v1';
const TOKEN_KEY = 'keybridge.api_token';
const TEXT_MAX = 1 << 20;	// bytes of a version diffed in the page
const $ = (id) => document.getElementById(id);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function get(path, asText) {
  const token = sessionStorage.getItem(TOKEN_KEY) || '';
  const headers = { Accept: asText ? '*/*' : 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(API + path, { headers, cache: 'no-store' });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return asText ? r.text() : r.json();
}

const enc = encodeURIComponent;
let versions = [];

function isText(v) {
  return v.media_type === 'text/plain' && v.size !== null && v.size <= TEXT_MAX;
}

function option(v) {
  return h('option', { value: v.version }, `${v.version} (${v.time})`);
}

async function loadGroup(group) {
  const tbody = $('configs').querySelector('tbody');
  tbody.replaceChildren();
  $('config-diff').replaceChildren();
  versions = group ? (await get(`/configs/${enc(group)}/versions`)).versions : [];
  for (const v of versions) {
    tbody.append(h('tr', { 'data-version': v.version },
      h('td', { class: 'mono' }, v.version), h('td', null, v.time),
      h('td', { class: 'num' }, v.size ?? '–'), h('td', null, v.media_type || '–'),
      h('td', null, v.note || ''),
      h('td', { class: 'mono', title: v.sha256 }, v.sha256.slice(0, 12) + '…')));
  }
  const texts = versions.filter(isText);
  for (const [id, pick] of [['diff-a', 1], ['diff-b', 0]]) {
    $(id).replaceChildren(...texts.map(option));
    if (texts[pick]) $(id).value = texts[pick].version;
  }
  $('diff-run').disabled = texts.length < 2;
  $('configs-panel').dataset.group = group || '';
}

// One row of the side-by-side table: old on the left, new on the right.
function diffRow(left, right, kind) {
  return h('tr', { class: `diff-${kind}` },
    h('td', { class: 'mono diff-old' }, left ?? ''), h('td', { class: 'mono diff-new' }, right ?? ''));
}

function lines(s) {
  const l = s.split('\n');
  if (l.length && l[l.length - 1] === '') l.pop();
  return l;
}

async function runDiff() {
  const group = $('config-group').value, a = $('diff-a').value, b = $('diff-b').value;
  const [ta, tb] = await Promise.all([a, b].map((v) =>
    get(`/configs/${enc(group)}/versions/${enc(v)}/content`, true)));
  const rows = [];
  const parts = window.Diff.diffLines(ta, tb);
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (!p.added && !p.removed) {
      for (const l of lines(p.value)) rows.push(diffRow(l, l, 'same'));
    } else if (p.removed && parts[i + 1]?.added) {
      // a change: removed and added lines side by side
      const del = lines(p.value), add = lines(parts[++i].value);
      for (let j = 0; j < Math.max(del.length, add.length); j++)
        rows.push(diffRow(del[j], add[j], 'change'));
    } else if (p.removed) {
      for (const l of lines(p.value)) rows.push(diffRow(l, null, 'del'));
    } else {
      for (const l of lines(p.value)) rows.push(diffRow(null, l, 'add'));
    }
  }
  $('config-diff').replaceChildren(h('table', { class: 'data diff' },
    h('thead', null, h('tr', null, h('th', null, `${group} ${a}`), h('th', null, `${group} ${b}`))),
    h('tbody', null, ...rows)));
  $('config-diff').dataset.versions = `${a} ${b}`;
}

function report(e) {
  $('configs-error').textContent = e.message;
  $('configs-error').hidden = false;
}

async function init() {
  try {
    const groups = (await get('/configs')).groups;
    $('config-group').replaceChildren(...groups.map((g) => h('option', { value: g.group }, g.group)));
    await loadGroup(groups[0]?.group);
  } catch (e) {
    report(e);
  }
  $('config-group').addEventListener('change', () => loadGroup($('config-group').value).catch(report));
  $('diff-run').addEventListener('click', () => runDiff().catch(report));
  $('configs-panel').dataset.ready = '1';
}

init();
