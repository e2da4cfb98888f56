// A small remote control for Debian's headless Chromium, driven by the Python end-to-end
// tests (tests/e2e/web_support.py): one JSON command per line on stdin, one JSON answer
// per line on stdout. Playwright (playwright-core from npm, no browser download) talks
// to the browser; every wait is for a state of the page, with a hang guard as timeout.
//
//   {"id": 1, "cmd": "open", "args": {"page": "a", "url": "...", "width": 1440, "height": 900}}
//   -> {"id": 1, "ok": true, "value": ...} | {"id": 1, "ok": false, "error": "..."}
import readline from 'node:readline';
import { chromium } from 'playwright-core';

const HANG_GUARD_MS = Number(process.env.HANG_GUARD_MS || 120000);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// This machine's network is closed and the page must fetch nothing from outside: no
// sandbox (containers), no GPU, no QUIC, no background or first-run traffic. Playwright
// gives the browser a fresh, temporary user data directory of its own.
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

const pages = new Map();   // name -> {context, page, log}

// What a test may want to look at after the fact: console messages, uncaught errors,
// every request the page made (URL and whether it carried an Authorization header), and
// Content-Security-Policy violations (recorded by an init script, which CSP does not bind).
function watch(page, log) {
  page.on('console', (m) => log.console.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => log.errors.push(String(e && e.stack || e)));
  page.on('request', (r) => log.requests.push({ method: r.method(), url: r.url(),
                                                  authorization: 'authorization' in r.headers() }));
}

const commands = {
  async open({ page: name, url, width = 1440, height = 900, bypassCSP = false }) {
    const context = await browser.newContext({ viewport: { width, height }, bypassCSP });
    context.setDefaultTimeout(HANG_GUARD_MS);
    await context.addInitScript(() => {
      window.__cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    const page = await context.newPage();
    const log = { console: [], errors: [], requests: [] };
    watch(page, log);
    pages.set(name, { context, page, log });
    await page.goto(url);
    return true;
  },
  async close({ page: name }) {
    const p = pages.get(name);
    if (p) await p.context.close();
    pages.delete(name);
    return true;
  },
  async reload({ page }) { await get(page).reload(); return true; },
  async viewport({ page, width, height }) { await get(page).setViewportSize({ width, height }); return true; },
  async fill({ page, selector, value }) { await get(page).locator(selector).fill(value); return true; },
  async press({ page, selector, key }) { await get(page).locator(selector).press(key); return true; },
  async key({ page, key }) { await get(page).keyboard.press(key); return true; },
  async type({ page, text }) { await get(page).keyboard.type(text); return true; },
  async click({ page, selector }) { await get(page).locator(selector).click(); return true; },
  async select({ page, selector, value }) { await get(page).locator(selector).selectOption(value); return true; },
  // Waits until `selector` is in `state` (attached, detached, visible, hidden).
  async wait({ page, selector, state = 'visible' }) {
    await get(page).locator(selector).first().waitFor({ state });
    return true;
  },
  // Waits until the function `js` (source text, "(arg) => ...") returns something truthy
  // in the page, polling on animation frames; returns that value.
  async until({ page, js, arg = null }) {
    const handle = await get(page).waitForFunction(fn(js), arg, { polling: 'raf' });
    return handle.jsonValue();
  },
  async eval({ page, js, arg = null }) { return get(page).evaluate(fn(js), arg); },
  async text({ page, selector }) { return get(page).locator(selector).innerText(); },
  async screenshot({ page, path }) { await get(page).screenshot({ path, fullPage: true }); return path; },
  async log({ page }) {
    const p = pages.get(page);
    if (!p) throw new Error(`no page named ${page}`);
    const violations = await p.page.evaluate(() => window.__cspViolations || []).catch(() => []);
    return { ...p.log, violations };
  },
  async pages() { return [...pages.keys()]; },
};

// A function's source -> a function Playwright hands to the page through the DevTools
// protocol. (Given as a string, Playwright would take it as an expression, and evaluate it
// with eval() inside the page, which the view's Content-Security-Policy rightly forbids.)
function fn(js) {
  return new Function('arg', `return (${js})(arg);`);  // eslint-disable-line no-new-func
}

function get(name) {
  const p = pages.get(name);
  if (!p) throw new Error(`no page named ${name}`);
  return p.page;
}

const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const lines = readline.createInterface({ input: process.stdin });
// One command at a time, in order: the tests are sequences of steps.
let chain = Promise.resolve();
lines.on('line', (line) => {
  chain = chain.then(async () => {
    let msg;
    try {
      msg = JSON.parse(line);
      const fn = commands[msg.cmd];
      if (!fn) throw new Error(`unknown command ${msg.cmd}`);
      out({ id: msg.id, ok: true, value: (await fn(msg.args || {})) ?? null });
    } catch (e) {
      out({ id: msg && msg.id, ok: false, error: String(e && e.message || e) });
    }
  });
});
lines.on('close', () => { chain.then(() => browser.close()).then(() => process.exit(0)); });
out({ id: 0, ok: true, value: browser.version() });
