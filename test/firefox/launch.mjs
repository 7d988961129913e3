// The headless Firefox ESR the drivers in this folder use: Debian's
// (POSTSEAL_FIREFOX to use another), over WebDriver BiDi, with nothing of
// the browser's own traffic on a closed network.

import puppeteer from 'puppeteer-core';

export function launchFirefox() {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: process.env.POSTSEAL_FIREFOX || '/usr/bin/firefox-esr',
    headless: true,
    extraPrefsFirefox: {
      'network.captive-portal-service.enabled': false,
      'network.connectivity-service.enabled': false,
      'browser.safebrowsing.malware.enabled': false,
      'browser.safebrowsing.phishing.enabled': false,
      'app.update.enabled': false,
      'extensions.update.enabled': false,
      'toolkit.telemetry.enabled': false,
      'datareporting.healthreport.uploadEnabled': false,
    },
  });
}

// The per-step timeout, in ms.
export const stepTimeout = Number(process.env.POSTSEAL_FIREFOX_TIMEOUT_MS || 60000);
