// Opens a securedoc page in Debian's headless Firefox ESR (driven over
// WebDriver BiDi by puppeteer-core, no browser download) the way a
// recipient does, and prints what happened as one JSON line per open:
//
//   node open.mjs URL [--password P] [--email E] [--times N] [--eval EXPR]
//
// {"outcome":"message"|"error"|"form", "error":"<#error text>",
//  "decryptor":"<html[data-decryptor]>", "openMs":<the page's own
//  data-open-ms>, "phases":"<data-open-phases>", "subject":"<#msg-subject>"}
//
// Without --password it stops once the page has settled (the Open form is
// shown, or an error is). The page is loaded afresh for each open; the
// browser (and its cache) stays. Used by postseal's Go tests
// (test/e2e) and by `make bench` (open-10mb); it asserts nothing itself.

import { launchFirefox, stepTimeout as timeout } from './launch.mjs';

const args = process.argv.slice(2);
const url = args.shift();
const opt = { times: '1' };
while (args.length) {
  const k = args.shift();
  if (!k.startsWith('--') || !args.length) usage(`bad argument ${k}`);
  opt[k.slice(2)] = args.shift();
}
if (!url) usage('no URL');
const times = Number(opt.times);

function usage(why) {
  console.error(`open.mjs: ${why}\nusage: node open.mjs URL [--password P] [--email E] [--times N] [--eval EXPR]`);
  process.exit(2);
}

const browser = await launchFirefox();
let code = 0;
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(timeout);
  for (let i = 0; i < times; i++) {
    await page.goto(url, { waitUntil: 'load' });
    // Settled: the decryptor showed its form, or something said why not.
    await page.waitForFunction(
      () => !document.getElementById('unlock')?.hidden || !document.getElementById('error')?.hidden,
      { polling: 50 },
    );
    if (opt.password !== undefined && (await page.$eval('#unlock', (f) => !f.hidden))) {
      if (opt.email !== undefined) {
        await page.$eval('#email-select', (s, e) => {
          s.value = [...s.options].some((o) => o.value === e) ? e : 'other';
          s.dispatchEvent(new Event('change'));
        }, opt.email);
        if (await page.$eval('#email-select', (s) => s.value === 'other')) {
          await page.$eval('#email-other', (n, e) => (n.value = e), opt.email);
        }
      }
      await page.$eval('#password', (n, p) => (n.value = p), opt.password);
      await page.click('#open');
      await page.waitForFunction(
        () => !document.getElementById('message').hidden || !document.getElementById('error').hidden,
        { polling: 20 },
      );
    }
    const r = await page.evaluate(() => {
      const t = (id) => (document.getElementById(id)?.textContent || '').trim();
      const shown = (id) => !!document.getElementById(id) && !document.getElementById(id).hidden;
      return {
        outcome: shown('message') ? 'message' : shown('error') ? 'error' : 'form',
        error: shown('error') ? t('error') : '',
        decryptor: document.documentElement.dataset.decryptor || '',
        openMs: Number(document.documentElement.dataset.openMs || 0),
        phases: document.documentElement.dataset.openPhases || '',
        subject: t('msg-subject'),
      };
    });
    // --eval: an expression whose object's fields join the result.
    if (opt.eval !== undefined) Object.assign(r, await page.evaluate(opt.eval));
    console.log(JSON.stringify(r));
  }
} catch (e) {
  console.error(`open.mjs: ${e && e.stack ? e.stack : e}`);
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
