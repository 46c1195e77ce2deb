// A "browser" for tokenctl's end-to-end tests: `BROWSER="node tests/idp/browser.js"`.
// Opens the authorization URL in headless Debian Chromium, signs in on the test IdP's login
// page as a person would (any user name; TOKENCTL_TEST_USER or "alice"), accepts the consent
// page, and waits for tokenctl's loopback page to say "Signed in". Exits 1 with the reason
// otherwise, and saves a screenshot next to it (TOKENCTL_TEST_SCREENSHOT) when asked.
//
// With TOKENCTL_TEST_UNREACHABLE=FILE it is a browser on another machine (over SSH, say): the
// redirect back to tokenctl's loopback address never arrives; the address the browser ends on,
// which a person would copy from its address bar, is written to FILE.
import { writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const url = process.argv[2];
const user = process.env.TOKENCTL_TEST_USER || 'alice';
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
let status = 0;
const page = await browser.newPage();
const unreachable = process.env.TOKENCTL_TEST_UNREACHABLE;
let ended = null;
if (unreachable) {
  const redirect = new URL(new URL(url).searchParams.get('redirect_uri'));
  const isCallback = (address) => {
    const at = new URL(address);
    return at.host === redirect.host && at.pathname === redirect.pathname;
  };
  // Chromium follows redirects without asking the route again, so each request to the IdP is
  // fetched here hop by hop, and the hop to the loopback address is never made.
  await page.route(() => true, async (route) => {
    if (!route.request().isNavigationRequest()) {
      await route.continue();
      return;
    }
    let response = await route.fetch({ maxRedirects: 0 });
    for (let hop = 0; hop < 10 && [301, 302, 303, 307, 308].includes(response.status()); hop += 1) {
      const next = new URL(response.headers().location, response.url()).href;
      if (isCallback(next)) {
        ended = next;
        writeFileSync(unreachable, next);
        await route.fulfill({ status: 200, contentType: 'text/html', body: '<p>This site can’t be reached</p>' });
        return;
      }
      response = await page.request.get(next, { maxRedirects: 0 });
    }
    await route.fulfill({ response });
  });
}
try {
  await page.goto(url);
  for (let step = 0; step < 5; step += 1) {
    if (ended || (await page.content()).includes('Signed in')) break;
    if (await page.locator('input[name=login]').count()) {
      await page.fill('input[name=login]', user);
      await page.fill('input[name=password]', 'any');
      await Promise.all([page.waitForLoadState(), page.click('button[type=submit]')]);
    } else if (await page.locator('button[type=submit]').count()) {
      await Promise.all([page.waitForLoadState(), page.click('button[type=submit]')]);
    } else {
      await page.waitForTimeout(200);
    }
  }
  if (!ended) await page.waitForSelector('text=Signed in', { timeout: 15000 });
  if (process.env.TOKENCTL_TEST_SCREENSHOT) await page.screenshot({ path: process.env.TOKENCTL_TEST_SCREENSHOT });
} catch (err) {
  console.error(`browser.js: ${err.message}`);
  if (process.env.TOKENCTL_TEST_SCREENSHOT) await page.screenshot({ path: process.env.TOKENCTL_TEST_SCREENSHOT }).catch(() => {});
  status = 1;
} finally {
  await browser.close();
}
process.exit(status);
