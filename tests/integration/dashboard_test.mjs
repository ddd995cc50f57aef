// dashboard_test.mjs MODE: drives the dashboard in headless Debian
// Chromium through playwright-core, for tests/integration/test_dashboard.sh.
//
// Environment: PLAYWRIGHT (the playwright-core folder), KB_URL (the
// bridge's https://127.0.0.1:PORT), KEYBRIDGE, KB_DIR, OUT, and per mode:
//
//   live    KEY_PUB, KEY_NAME, KEY2_PUB, KEY2_NAME: the page shows the
//           status header; the key, registered and then revoked with the
//           command line, appears and turns revoked without a reload; every
//           entry's inclusion proof is verified; the stream, cut by going
//           offline, resumes and brings the second key registered
//           meanwhile; no console error; screenshot OUT/dashboard.png.
//           Then, on a second page, a proof and an entry text altered in
//           transit (page.route) are marked failed.
//   token   KB_TOKEN: the API needs a bearer token; the page asks for it,
//           refuses a wrong one, and works with the right one.
//
// Every wait is for a condition with a deadline, never a fixed sleep.
// Prints one "ok: ..." line per check; exits 1 with "FAIL: ..." otherwise.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const env = (k) => {
  const v = process.env[k];
  if (!v) fail(`${k} is not set`);
  return v;
};
function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
}
const ok = (msg) => console.log(`ok: ${msg}`);

const { chromium } = await import(path.join(env('PLAYWRIGHT'), 'index.mjs'));
const MODE = process.argv[2] || 'live';
const URL = `${env('KB_URL')}/dashboard/`;
const OUT = env('OUT');
const WAIT = 15000;	// ms for any one condition

// Headless Chromium on a closed network: no background networking, no
// updates, no sync, a fresh profile.
const profile = path.join(OUT, `chromium-${MODE}`);
mkdirSync(profile, { recursive: true });
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  ignoreHTTPSErrors: true,	// the bridge's certificate chains to its own root
  viewport: { width: 1366, height: 768 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

// waitFor(page, what, fn, arg): page.waitForFunction with a message.
async function waitFor(page, what, fn, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: WAIT, polling: 50 });
  } catch (e) {
    await page.screenshot({ path: path.join(OUT, `fail-${MODE}.png`), fullPage: true }).catch(() => {});
    fail(`${what} (after ${WAIT} ms): ${e.message.split('\n')[0]}`);
  }
  ok(what);
}

// Problems the page reports: console errors, uncaught exceptions, failed
// requests (other than the event stream, which is cut when a page closes).
// While the test holds the browser offline, the requests that fail for
// that reason (ERR_INTERNET_DISCONNECTED) are expected.
let offline = false;
const offlineError = (s) => offline && /ERR_INTERNET_DISCONNECTED/.test(s || '');
function watch(page, problems) {
  page.on('console', (m) => {
    if (m.type() === 'error' && !offlineError(m.text())) problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText;
    if (!r.url().includes('/api/v1/events') && !offlineError(why)) problems.push(`request failed: ${r.url()} ${why}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
}

function cli(...args) {
  return execFileSync(env('KEYBRIDGE'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function statusTreeSize(page) {
  return page.evaluate(async () => (await (await fetch('/api/v1/status')).json()).tree_size);
}

async function live() {
  const page = ctx.pages()[0] || await ctx.newPage();
  const problems = [];
  watch(page, problems);
  let navigations = 0;
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations++;
  });

  await page.goto(URL);
  const size0 = await statusTreeSize(page);
  await waitFor(page, `the status header shows tree size ${size0}`,
    (n) => document.getElementById('tree-size').dataset.size === String(n), size0);
  await waitFor(page, 'the page is loaded and healthy, the event stream live',
    () => document.body.dataset.ready === '1' && document.getElementById('stream-state').dataset.status === 'live' &&
      document.getElementById('health').dataset.status === 'healthy');
  await waitFor(page, `every entry up to ${size0 - 1} shown with a verified inclusion proof`,
    (n) => {
      const li = [...document.querySelectorAll('#entries li')];
      return li.length === Math.min(n, 30) && li.every((l) => l.dataset.proof === 'verified');
    }, size0);
  // a solo bridge: the validators panel says so (issue 14)
  await waitFor(page, 'the validators panel shows a solo bridge',
    () => !document.getElementById('validators-solo').hidden &&
      document.getElementById('validators').hidden &&
      document.getElementById('validators-summary').textContent === 'solo');
  // a marker that a reload would wipe
  await page.evaluate(() => { window.kbNoReload = 'still here'; });

  // ---- a key registered through the command line appears live ----------
  const reg = JSON.parse(cli('key', 'register', '-d', env('KB_DIR'), '--pubkey', env('KEY_PUB'),
    '--name', env('KEY_NAME'), '--json'));
  ok(`registered ${env('KEY_NAME')} with the CLI: key ${reg.key_id}, entry ${reg.index}`);
  await waitFor(page, 'the new key appears in the keys table as active',
    ([id, name]) => {
      const tr = document.querySelector(`#keys tr[data-key-id="${id}"]`);
      return tr && tr.dataset.name === name && tr.querySelector('.badge').dataset.status === 'active';
    }, [reg.key_id, env('KEY_NAME')]);
  await waitFor(page, `its entry ${reg.index} appears with a verified proof, tree size ${reg.tree_size}`,
    ([i, n]) => {
      const li = document.querySelector(`#entries li[data-index="${i}"]`);
      return li && li.dataset.type === 'key-register' && li.dataset.proof === 'verified' &&
        document.getElementById('tree-size').dataset.size === String(n);
    }, [reg.index, reg.tree_size]);

  // ---- revoked through the command line: the badge turns revoked -------
  cli('key', 'revoke', '-d', env('KB_DIR'), '--key-id', reg.key_id, '--reason', 'keyCompromise');
  const size2 = reg.tree_size + 1;
  ok(`revoked ${reg.key_id} with the CLI`);
  await waitFor(page, 'its status badge turns revoked',
    (id) => document.querySelector(`#keys tr[data-key-id="${id}"] .badge`)?.dataset.status === 'revoked',
    reg.key_id);
  await waitFor(page, `the key-revoke entry ${size2 - 1} appears with a verified proof, tree size ${size2}`,
    ([i, n]) => {
      const li = document.querySelector(`#entries li[data-index="${i}"]`);
      return li && li.dataset.type === 'key-revoke' && li.dataset.proof === 'verified' &&
        document.getElementById('tree-size').dataset.size === String(n);
    }, [size2 - 1, size2]);
  await waitFor(page, 'every shown entry verified against the new checkpoint',
    () => [...document.querySelectorAll('#entries li')].every((l) => l.dataset.proof === 'verified'));
  await waitFor(page, 'the summary cards count the revoked key',
    (n) => document.getElementById('c-keys-revoked').textContent === String(n), 1);

  if (await page.evaluate(() => window.kbNoReload) !== 'still here' || navigations !== 1) {
    fail(`the page was reloaded (${navigations} navigations)`);
  }
  ok('no reload: one navigation, the page state kept');

  // ---- the stream drops (the browser goes offline) and resumes ----------
  // with Last-Event-ID: an entry written while it was down still arrives
  offline = true;
  await ctx.setOffline(true);
  await waitFor(page, 'offline: the stream is reconnecting and the health degraded',
    () => document.getElementById('stream-state').dataset.status === 'reconnecting' &&
      document.getElementById('health').dataset.status !== 'healthy');
  const reg2 = JSON.parse(cli('key', 'register', '-d', env('KB_DIR'), '--pubkey', env('KEY2_PUB'),
    '--name', env('KEY2_NAME'), '--json'));
  ok(`registered ${env('KEY2_NAME')} with the CLI while the page was offline: entry ${reg2.index}`);
  await ctx.setOffline(false);
  offline = false;
  await waitFor(page, 'back online: the stream resumes and the missed key and entry arrive, verified',
    ([id, i]) => document.getElementById('stream-state').dataset.status === 'live' &&
      document.querySelector(`#keys tr[data-key-id="${id}"]`) &&
      document.querySelector(`#entries li[data-index="${i}"]`)?.dataset.proof === 'verified',
    [reg2.key_id, reg2.index]);

  // the key filter narrows to the revoked key
  await page.fill('#keys-name', env('KEY_NAME'));
  await page.selectOption('#keys-status', 'revoked');
  await waitFor(page, 'filtering keys by name prefix and status revoked shows only that key',
    (id) => {
      const rows = [...document.querySelectorAll('#keys tbody tr[data-key-id]')];
      return rows.length === 1 && rows[0].dataset.keyId === id;
    }, reg.key_id);
  await page.fill('#keys-name', '');
  await page.selectOption('#keys-status', '');
  await waitFor(page, 'clearing the filters shows every key again',
    () => document.querySelectorAll('#keys tbody tr[data-key-id]').length > 1);

  // the configurations view: the group's versions, and a side-by-side
  // diff of its two text versions (jsdiff, vendored)
  await waitFor(page, 'the configurations view lists group cams, its two versions newest first',
    () => document.getElementById('configs-panel').dataset.group === 'cams' &&
      [...document.querySelectorAll('#configs tbody tr')].map((r) => r.dataset.version).join(' ') === '2.0 1.0');
  await page.click('#diff-run');
  await waitFor(page, 'Compare shows 1.0 and 2.0 side by side: the changed line, the added one, the same ones',
    () => {
      const d = document.getElementById('config-diff');
      const row = (k) => [...d.querySelectorAll(`tr.diff-${k}`)].map((r) =>
        [...r.cells].map((c) => c.textContent).join('|'));
      return d.dataset.versions === '1.0 2.0' && row('change').join(',') === 'level = 1|level = 2' &&
        row('add').join(',') === '|extra = yes' && row('same').length === 2;
    });
  ok('configurations: versions listed, side-by-side diff of two text versions');

  await page.screenshot({ path: path.join(OUT, 'dashboard.png'), fullPage: true });
  ok(`screenshot ${path.join(OUT, 'dashboard.png')}`);
  if (problems.length) fail(`the page reported problems:\n  ${problems.join('\n  ')}`);
  ok('no console error, no uncaught exception, no failed request');

  // ---- negative controls: data altered in transit must fail ------------
  const bad = await ctx.newPage();
  const proofIdx = reg.index;		// its audit path is altered
  const textIdx = reg.index + 1;	// its text is altered
  await bad.route((u) => u.pathname === '/api/v1/ledger/proof/inclusion' &&
    u.searchParams.get('index') === String(proofIdx), async (route) => {
    const resp = await route.fetch();
    const json = await resp.json();
    const p = json.proof[0];
    json.proof[0] = (p[0] === '0' ? '1' : '0') + p.slice(1);
    await route.fulfill({ response: resp, json });
  });
  await bad.route((u) => u.pathname === '/api/v1/ledger/entries', async (route) => {
    const resp = await route.fetch();
    const json = await resp.json();
    for (const e of json.entries) {
      if (e.index === textIdx) e.entry = e.entry.replace('reason keyCompromise', 'reason superseded');
    }
    await route.fulfill({ response: resp, json });
  });
  await bad.goto(URL);
  await waitFor(bad, `an altered audit path (entry ${proofIdx}) and an altered entry text (entry ${textIdx}) are marked failed, the others verified`,
    ([a, b]) => {
      const li = [...document.querySelectorAll('#entries li')];
      return li.length > 2 && li.every((l) => {
        const i = Number(l.dataset.index);
        return l.dataset.proof === (i === a || i === b ? 'failed' : 'verified');
      });
    }, [proofIdx, textIdx]);
  const why = await bad.evaluate(([a, b]) => [a, b].map((i) =>
    document.querySelector(`#entries li[data-index="${i}"] .proof .badge`).title), [proofIdx, textIdx]);
  ok(`reasons shown: "${why[0]}"; "${why[1]}"`);
  await bad.close();
}

async function token() {
  const page = ctx.pages()[0] || await ctx.newPage();
  const problems = [];
  watch(page, problems);
  await page.goto(URL);
  await waitFor(page, 'without a token the page asks for one',
    () => !document.getElementById('token-overlay').hidden &&
      document.getElementById('health').dataset.status === 'token needed');
  await page.fill('#token-input', `wrong-${env('KB_TOKEN')}`);
  await page.click('#token-form button[type="submit"]');
  await waitFor(page, 'a wrong token is refused and asked for again',
    () => !document.getElementById('token-overlay').hidden && !document.getElementById('token-error').hidden);
  await page.fill('#token-input', env('KB_TOKEN'));
  await page.click('#token-form button[type="submit"]');
  await waitFor(page, 'with the right token the page loads, the event stream live',
    () => document.getElementById('token-overlay').hidden && document.body.dataset.ready === '1' &&
      document.getElementById('stream-state').dataset.status === 'live' &&
      Number(document.getElementById('tree-size').dataset.size) > 0);
  const kept = await page.evaluate(() => sessionStorage.getItem('keybridge.api_token'));
  if (kept !== env('KB_TOKEN')) fail('the token is not kept in sessionStorage');
  ok('the token is kept in sessionStorage');
  // the only errors allowed are the two 401s that asked for the token
  const other = problems.filter((p) => !/401/.test(p));
  if (other.length) fail(`the page reported problems:\n  ${other.join('\n  ')}`);
  ok('no other console error or failed request');
}

try {
  if (MODE === 'live') await live();
  else if (MODE === 'token') await token();
  else fail(`unknown mode ${MODE}`);
} finally {
  await ctx.close();
}
