// A hostile "browser" for tokenctl's tests: it calls the loopback redirect URI itself with a
// made-up answer.
//   state   holds an idle connection open, sends an answer with the wrong state, then signs in
//           for real with browser.js: the login must still work
//   error   the right state with error=access_denied
//   iss     the right state and a code, from another issuer (RFC 9207 mix-up)
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [url, mode = 'state'] = process.argv.slice(2);
const redirect = new URL(new URL(url).searchParams.get('redirect_uri'));
const state = new URL(url).searchParams.get('state');
const answer = {
  state: { code: 'stolen-code', state: 'not-the-state' },
  error: { error: 'access_denied', error_description: 'the user said no', state },
  iss: { code: 'stolen-code', state, iss: 'https://evil.example.com' },
}[mode];
let idle;
if (mode === 'state') {
  idle = net.connect(Number(redirect.port), '127.0.0.1');
  await new Promise((resolve) => { idle.on('connect', resolve); });
}
redirect.search = new URLSearchParams(answer).toString();
await fetch(redirect).catch(() => {});
if (mode === 'state') {
  const browser = fileURLToPath(new URL('browser.js', import.meta.url));
  const signIn = spawnSync(process.execPath, [browser, url], { stdio: 'inherit' });
  idle.destroy();
  process.exit(signIn.status ?? 1);
}
