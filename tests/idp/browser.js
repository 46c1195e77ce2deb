// A "browser" for tokenctl's end-to-end tests: `BROWSER="node tests/idp/browser.js"`.
// Opens the authorization URL in headless Debian Chromium, signs in on the test IdP's login
// page as a person would (any user name; TOKENCTL_TEST_USER or "alice"), accepts the consent
// page, and waits for tokenctl's loopback page to say "Signed in". Exits 1 with the reason
// otherwise, and saves a screenshot next to it (TOKENCTL_TEST_SCREENSHOT) when asked.
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
try {
  await page.goto(url);
  for (let step = 0; step < 5; step += 1) {
    if ((await page.content()).includes('Signed in')) break;
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
  await page.waitForSelector('text=Signed in', { timeout: 15000 });
  if (process.env.TOKENCTL_TEST_SCREENSHOT) await page.screenshot({ path: process.env.TOKENCTL_TEST_SCREENSHOT });
} catch (err) {
  console.error(`browser.js: ${err.message}`);
  if (process.env.TOKENCTL_TEST_SCREENSHOT) await page.screenshot({ path: process.env.TOKENCTL_TEST_SCREENSHOT }).catch(() => {});
  status = 1;
} finally {
  await browser.close();
}
process.exit(status);
