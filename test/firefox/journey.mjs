// A first-time recipient's journey in Debian's headless Firefox ESR
// (driven over WebDriver BiDi by puppeteer-core), in one browser as a
// person does it:
//
//   node journey.mjs SECUREDOC_URL --email E --password P
//
// 1. opens the securedoc (file://) and presses Register, which opens the
//    key service's registration page in a new tab; checks the address is
//    filled in, fills in the names and the password twice and registers;
// 2. prints {"step":"registered", ...} and reads the activation link from
//    standard input (the caller takes it from the mail that was sent);
// 3. opens the link in that tab, types the password and presses Activate;
// 4. goes back to the securedoc's tab, types the password, presses Open
//    and prints {"step":"opened", ...} with what the page then shows.
//
// Each step prints one JSON line; it asserts nothing itself (the Go test
// in test/e2e does). Exit status 1 with the reason on standard error if a
// step could not be done.

import readline from 'node:readline';
import { launchFirefox, stepTimeout as timeout } from './launch.mjs';

const args = process.argv.slice(2);
const url = args.shift();
const opt = {};
while (args.length) {
  const k = args.shift();
  if (!k.startsWith('--') || !args.length) usage(`bad argument ${k}`);
  opt[k.slice(2)] = args.shift();
}
if (!url || !opt.email || !opt.password) usage('a URL, --email and --password are needed');

function usage(why) {
  console.error(`journey.mjs: ${why}\nusage: node journey.mjs SECUREDOC_URL --email E --password P`);
  process.exit(2);
}

const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (o) => console.log(JSON.stringify(o));
const text = (page, sel) => page.$eval(sel, (n) => n.textContent.trim()).catch(() => '');

const browser = await launchFirefox();
let code = 0;
try {
  const doc = await browser.newPage();
  doc.setDefaultTimeout(timeout);
  await doc.goto(url, { waitUntil: 'load' });
  await doc.waitForSelector('#register-link', { visible: true });
  const registerHref = await doc.$eval('#register-link', (a) => a.href);

  // Register opens in a tab of its own (target=_blank).
  const opened = browser.waitForTarget((t) => t.url().startsWith(registerHref.split('?')[0]), { timeout });
  await doc.click('#register-link');
  const reg = await (await opened).page();
  reg.setDefaultTimeout(timeout);
  await reg.waitForSelector('input[name="first_name"]', { visible: true });
  const prefilled = await reg.$eval('input[name="email"]', (n) => n.value);
  await reg.type('input[name="first_name"]', 'Fay');
  await reg.type('input[name="last_name"]', 'Fox');
  await reg.type('input[name="password"]', opt.password);
  await reg.type('input[name="confirm_password"]', opt.password);
  await Promise.all([reg.waitForNavigation({ waitUntil: 'load' }), reg.click('form button[type="submit"]')]);
  say({ step: 'registered', registerURL: registerHref, tabURL: reg.url(), email: prefilled, heading: await text(reg, 'h1') });

  const link = (await lines.next()).value;
  if (!link) throw new Error('no activation link on standard input');
  await reg.goto(link.trim(), { waitUntil: 'load' });
  await reg.type('input[name="password"]', opt.password);
  await Promise.all([reg.waitForNavigation({ waitUntil: 'load' }), reg.click('form button[type="submit"]')]);
  say({ step: 'activated', heading: await text(reg, 'h1'), text: await text(reg, 'main') });

  // Back to the securedoc, still open in its tab.
  await doc.bringToFront();
  await doc.$eval('#email-select', (s, e) => {
    s.value = [...s.options].some((o) => o.value === e) ? e : 'other';
    s.dispatchEvent(new Event('change'));
  }, opt.email);
  if (await doc.$eval('#email-select', (s) => s.value === 'other')) await doc.type('#email-other', opt.email);
  await doc.type('#password', opt.password);
  await doc.click('#open');
  await doc.waitForFunction(
    () => !document.getElementById('message').hidden || !document.getElementById('error').hidden,
    { polling: 20 },
  );
  say({
    step: 'opened',
    outcome: await doc.$eval('#message', (m) => (m.hidden ? 'error' : 'message')),
    error: await text(doc, '#error'),
    subject: await text(doc, '#msg-subject'),
    body: await text(doc, '#msg-text'),
  });
} catch (e) {
  console.error(`journey.mjs: ${e && e.stack ? e.stack : e}`);
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
