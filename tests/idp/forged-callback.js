// A hostile "browser" for tokenctl's tests: instead of signing in, it calls the loopback
// redirect URI itself with a made-up answer (`--state wrong` or `--error access_denied`).
const [url, mode = 'state'] = process.argv.slice(2);
const redirect = new URL(new URL(url).searchParams.get('redirect_uri'));
const state = new URL(url).searchParams.get('state');
if (mode === 'state') {
  redirect.search = new URLSearchParams({ code: 'stolen-code', state: 'not-the-state' }).toString();
} else {
  redirect.search = new URLSearchParams({ error: 'access_denied', error_description: 'the user said no', state }).toString();
}
await fetch(redirect).catch(() => {});
