// admin.test.js: the admin page (/admin/, issue 17) in a real browser:
// Debian's chromium driven by playwright-core, one launch, a new empty
// user-data-dir.  Run by test_admin.sh (next to this file), which starts
// metakeepd behind lighttpd and passes, in the environment:
//   BASE      http://127.0.0.1:PORT
//   TOKEN     a token with every scope; RO_TOKEN one with read:users only
//   USER_ID   the user the edits are made on (ada@example.com)
//   SHOTS     where the screenshots go (docs/admin/)
// Each check prints "ok - ..." or "FAIL - ..."; the last line is
// "N passed, N failed".  Every page is also checked with axe-core (no
// serious or critical violation) and for Content-Security-Policy
// refusals in the console (the pages need no inline script or style).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');
const axeSource = require('axe-core').source;

const BASE = process.env.BASE;
const TOKEN = process.env.TOKEN;
const RO_TOKEN = process.env.RO_TOKEN;
const USER_ID = process.env.USER_ID;
const SHOTS = process.env.SHOTS;
const A = BASE + '/admin';
const UPAGE = A + '/users/' + encodeURIComponent(USER_ID);

let passed = 0;
let failed = 0;
const cspErrors = [];

function ok(cond, label, detail) {
  if (cond) {
    passed++;
    console.log('ok - ' + label);
  } else {
    failed++;
    console.log('FAIL - ' + label + (detail !== undefined ? '\n#   ' + String(detail).slice(0, 600) : ''));
  }
}

// The user as stored, through the API.
async function apiUser() {
  const r = await fetch(BASE + '/api/v2/users/' + encodeURIComponent(USER_ID),
    { headers: { Authorization: 'Bearer ' + TOKEN } });
  return r.json();
}

// A second session, over plain HTTP (no browser): sign in, open the user's
// page, save user_metadata with what the page gave it.
async function otherSessionSaves(meta) {
  const cookies = {};
  const keep = (r) => {
    for (const c of r.headers.getSetCookie()) {
      const [kv] = c.split(';');
      const i = kv.indexOf('=');
      cookies[kv.slice(0, i)] = kv.slice(i + 1);
    }
  };
  const jar = () => Object.entries(cookies).filter(([, v]) => v !== '').map(([k, v]) => k + '=' + v).join('; ');
  const field = (html, name) => {
    const m = html.match(new RegExp('name="' + name + '" value="([^"]*)"'));
    return m ? m[1].replace(/&quot;/g, '"').replace(/&amp;/g, '&') : '';
  };
  let r = await fetch(A + '/', { redirect: 'manual' });
  keep(r);
  let html = await r.text();
  r = await fetch(A + '/login', {
    method: 'POST', redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: jar() },
    body: new URLSearchParams({ csrf: field(html, 'csrf'), token: TOKEN }).toString(),
  });
  keep(r);
  r = await fetch(UPAGE, { headers: { Cookie: jar() } });
  html = await r.text();
  const stored = (await apiUser()).user_metadata || {};
  r = await fetch(UPAGE, {
    method: 'POST', redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: jar() },
    body: new URLSearchParams({
      csrf: field(html, 'csrf'), etag: field(html, 'etag'),
      user_metadata: JSON.stringify(meta), orig_user_metadata: JSON.stringify(stored),
    }).toString(),
  });
  return r.status;
}

async function axeCheck(page, name) {
  await page.evaluate(axeSource + '\n;0');
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  ok(bad.length === 0, 'axe: no serious or critical violation on ' + name,
    bad.map((v) => v.id + ': ' + v.help + ' (' + v.nodes.map((n) => n.target.join(' ')).join(', ') + ')').join('; '));
}

// Screenshots at 1280x800 and 390x844; at (a selector) is scrolled into view.
async function shots(page, name, at) {
  for (const [w, h] of [[1280, 800], [390, 844]]) {
    await page.setViewportSize({ width: w, height: h });
    if (at)
      await page.locator(at).first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, name + '-' + w + '.png'), fullPage: false });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

// Check a page: axe, and screenshots when a name for them is given.
async function look(page, name, shot, at) {
  await axeCheck(page, name);
  if (shot)
    await shots(page, shot, at);
}

async function signIn(page, token) {
  await page.goto(A + '/');
  await page.fill('#token', token);
  await Promise.all([page.waitForURL(/\/admin\/users$/), page.click('button[type=submit]:has-text("Sign in")')]);
}

async function signOut(page) {
  await Promise.all([page.waitForLoadState('load'), page.click('header button:has-text("Sign out")')]);
}

// A form POST with the browser's own cookies (the context's request
// client shares them; the page's CSP would block a fetch): what a forged
// form could send.
async function postFrom(page, url, fields) {
  const r = await page.context().request.post(url, { form: fields, maxRedirects: 0 });
  return r.status();
}

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mk-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
    timeout: 60000,
  });
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.setDefaultTimeout(30000);
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/.test(m.text()))
        cspErrors.push(m.text());
    });

    // Sign in.
    await page.goto(A + '/');
    ok(await page.isVisible('label[for=token]'), 'the sign-in page has a labelled token field');
    await look(page, 'the sign-in page', 'signin');
    await signIn(page, TOKEN);
    ok(page.url().endsWith('/admin/users'), 'sign-in lands on the users list', page.url());
    const rows = await page.locator('tbody tr').count();
    ok(rows === 20, 'the list shows a page of 20 users', rows);
    ok(await page.isVisible('a[rel=next]'), 'the list has a next page');
    await look(page, 'the users list', 'users');

    // Paging and sort.
    await page.selectOption('#sort', 'email:1');
    await Promise.all([page.waitForURL(/sort=email/), page.click('button:has-text("Search")')]);
    const first = await page.locator('tbody tr td a').first().textContent();
    ok(first === 'ada@example.com', 'sorted by email, A first', first);
    await Promise.all([page.waitForURL(/page=1/), page.click('a[rel=next]')]);
    ok(await page.isVisible('text=Page 2 of'), 'the next page');

    // Search: a parser error next to the box, then a match.
    await page.fill('#q', 'ada');
    await Promise.all([page.waitForLoadState('load'), page.press('#q', 'Enter')]);
    const qerr = await page.textContent('#q-error').catch(() => '');
    ok(/bare word/.test(qerr), "the q parser's error is shown next to the box", qerr);
    ok(await page.getAttribute('#q', 'aria-describedby') === 'q-help q-error', 'the box is described by the error');
    await look(page, 'the users list with a q error', 'users-q-error');
    await page.fill('#q', 'email:"ada@example.com"');
    await Promise.all([page.waitForLoadState('load'), page.press('#q', 'Enter')]);
    ok(await page.locator('tbody tr').count() === 1, 'the search finds one user');

    // Open the user.
    await Promise.all([page.waitForURL(/\/admin\/users\/auth0/), page.click('tbody tr td a')]);
    ok(await page.isVisible('h1:has-text("Ada Admin")'), "the user's page");
    ok(await page.isVisible('#ed-user_metadata'), 'the user_metadata editor');
    await look(page, "the user's page", 'user');

    // Edit user_metadata: the live check, then save.
    await page.fill('#ed-user_metadata', '{"theme": ');
    await page.waitForFunction(() => document.getElementById('live-user_metadata').textContent !== '');
    ok(/Not valid JSON/.test(await page.textContent('#live-user_metadata')), 'the editor says as you type that the JSON does not parse');
    await page.fill('#ed-user_metadata', '{"theme": "light", "lang": "en"}');
    await Promise.all([page.waitForURL(/saved=1/), page.click('button:has-text("Save metadata")')]);
    ok(await page.isVisible('.note:has-text("Saved.")'), 'saved');
    let u = await apiUser();
    ok(JSON.stringify(u.user_metadata) === '{"theme":"light","lang":"en"}', 'the edit is stored', JSON.stringify(u.user_metadata));

    // A validation error of the API's, shown in place.
    await page.fill('#ed-app_metadata', '{"email": "not allowed here"}');
    await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Save metadata")')]);
    const aerr = await page.textContent('#err-app_metadata').catch(() => '');
    ok(aerr.length > 0 && /email/.test(aerr), "the API's message is shown under the app_metadata editor", aerr);
    ok(await page.getAttribute('#ed-app_metadata', 'aria-invalid') === 'true', 'the editor is marked invalid');
    ok(/not allowed here/.test(await page.inputValue('#ed-app_metadata')), 'the refused text stays in the editor');
    u = await apiUser();
    ok(u.app_metadata === undefined, 'nothing stored by the refused save', JSON.stringify(u.app_metadata));
    await look(page, 'a validation error', 'user-error', '#err-app_metadata');

    // The conflict path: another session saves in between.
    await page.goto(UPAGE);
    await page.fill('#ed-user_metadata', '{"theme": "mine", "lang": "en"}');
    const other = await otherSessionSaves({ theme: 'light', lang: 'en', other: 'theirs' });
    ok(other === 303, 'the second session saves', other);
    await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Save metadata")')]);
    ok(await page.isVisible('#conflict'), 'the first session gets the conflict page');
    const storedNow = await page.locator('section:has(#ed-user_metadata) pre').first().textContent().catch(() => '');
    ok(/theirs/.test(storedNow), 'it shows what is stored now (the other change)', storedNow);
    ok(/mine/.test(await page.inputValue('#ed-user_metadata')), 'beside the edit, kept');
    ok(await page.isVisible('a:has-text("Drop mine")'), 'it offers to drop the edit');
    u = await apiUser();
    ok(u.user_metadata.theme === 'light' && u.user_metadata.other === 'theirs', 'the stale save stored nothing', JSON.stringify(u.user_metadata));
    await look(page, 'the conflict page', 'conflict', '#h-user_metadata');
    await Promise.all([page.waitForURL(/saved=1/), page.click('button:has-text("Apply mine on top")')]);
    u = await apiUser();
    ok(u.user_metadata.theme === 'mine' && u.user_metadata.other === 'theirs',
      'apply mine on top: my change and theirs are both stored', JSON.stringify(u.user_metadata));

    // The user's history, when the API has log events.
    const logs = await fetch(BASE + '/api/v2/logs?per_page=1', { headers: { Authorization: 'Bearer ' + TOKEN } });
    if (logs.status === 200) {
      await page.goto(UPAGE);
      const hist = await page.textContent('section:has(#h-history)').catch(() => '');
      ok(/\/user_metadata\/theme/.test(hist), "the user's page shows their history with what each save changed", hist);
      await look(page, "the user's history", 'user-history', '#h-history');
    } else {
      console.log('# no /api/v2/logs in this build (' + logs.status + '): no history to check');
    }

    // A forged POST without the CSRF token, with the session's cookie.
    const before = JSON.stringify(await apiUser());
    const forged = await postFrom(page, UPAGE, { user_metadata: '{"theme":"forged"}', orig_user_metadata: '{}' });
    ok(forged === 403, 'a forged POST without the CSRF token is refused', forged);
    ok(JSON.stringify(await apiUser()) === before, 'the forged POST changed nothing');

    // Delete: the confirmation page (not confirmed).
    await Promise.all([page.waitForURL(/\/delete$/), page.click('a:has-text("Delete this user")')]);
    ok(await page.isVisible('button:has-text("Delete this user")'), 'delete asks for a confirmation');
    await look(page, 'the delete confirmation', 'user-delete');

    // Clients.
    await Promise.all([page.waitForURL(/\/admin\/clients$/), page.click('nav a:has-text("Clients")')]);
    ok(await page.locator('tbody tr').count() >= 1, 'the clients list');
    await look(page, 'the clients list', 'clients');
    await Promise.all([page.waitForURL(/\/admin\/clients\/.+/), page.click('tbody tr td a')]);
    ok(await page.isVisible('summary:has-text("Show the secret")'), 'an all-scope session may show the secret');
    await page.fill('input[name=k1]', 'bad.key');
    await page.waitForFunction(() => /Row 2/.test(document.getElementById('kv-live').textContent));
    ok(true, 'the key rules are shown as you type');
    await page.fill('input[name=k1]', 'region');
    await page.fill('input[name=v1]', 'eu-west');
    await Promise.all([page.waitForURL(/saved=1/), page.click('button:has-text("Save client_metadata")')]);
    ok(await page.inputValue('input[name=v1]') === 'eu-west' || await page.inputValue('input[name=v0]') === 'eu-west',
      'client_metadata saved');
    await look(page, "a client's page", 'client');

    // Tokens.
    await Promise.all([page.waitForURL(/\/admin\/tokens$/), page.click('nav a:has-text("Tokens")')]);
    ok(await page.locator('tbody tr').count() >= 2, 'the tokens page lists the tokens');
    await look(page, 'the tokens page', 'tokens');

    // Sign out: the session is over.
    await signOut(page);
    ok(await page.isVisible('#token'), 'signed out: the sign-in page');
    await page.goto(A + '/users');
    ok(page.url().endsWith('/admin/'), 'after sign-out the users list sends to the sign-in page', page.url());

    // A read-only session: no edit controls, and a POST refused.
    await signIn(page, RO_TOKEN);
    await page.goto(UPAGE);
    ok(await page.locator('textarea').count() === 0, 'read-only: no editor');
    ok(await page.locator('button:has-text("Save")').count() === 0, 'read-only: no save button');
    ok(await page.locator('a:has-text("Delete")').count() === 0, 'read-only: no delete link');
    await look(page, 'the read-only user page', 'user-readonly');
    const roCsrf = await page.getAttribute('header input[name=csrf]', 'value');
    const roPost = await postFrom(page, UPAGE, { csrf: roCsrf, user_metadata: '{"theme":"ro"}', orig_user_metadata: '{}' });
    ok(roPost === 403, "read-only: a POST with the session's CSRF token is still refused", roPost);
    ok(JSON.stringify(await apiUser()) === before, 'read-only: nothing changed');
    await signOut(page);

    ok(cspErrors.length === 0, 'no Content-Security-Policy refusal on any page', cspErrors.join('; '));
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e) => {
  failed++;
  console.log('FAIL - the browser run stopped: ' + (e && e.stack ? e.stack : e));
}).finally(() => {
  console.log(passed + ' passed, ' + failed + ' failed');
  process.exitCode = failed === 0 ? 0 : 1;
});
