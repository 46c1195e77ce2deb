// The test identity provider itself: each dialect's layout and each grant tokenctl relies on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const TENANT = '11111111-2222-3333-4444-555555555555';
let server;
let base;

before(async () => {
  server = spawn(process.execPath, [fileURLToPath(new URL('../server.js', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const [line] = await once(createInterface({ input: server.stdout }), 'line');
  ({ base } = JSON.parse(line));
});

after(() => server.kill());

const form = (url, fields) => fetch(url, { method: 'POST', body: new URLSearchParams(fields) });
const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

test('each dialect publishes its own URL layout', async () => {
  const layouts = {
    [`${base}/oidc`]: `${base}/oidc/token`,
    [`${base}/realms/nmr`]: `${base}/realms/nmr/protocol/openid-connect/token`,
    [`${base}/${TENANT}/v2.0`]: `${base}/${TENANT}/oauth2/v2.0/token`,
    [`${base}/auth0/`]: `${base}/auth0/oauth/token`,
  };
  for (const [issuer, token] of Object.entries(layouts)) {
    const discovery = await (await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`)).json();
    assert.equal(discovery.issuer, issuer);
    assert.equal(discovery.token_endpoint, token);
  }
});

test('client credentials give a JWT access token for the API', async () => {
  const reply = await (await form(`${base}/realms/nmr/protocol/openid-connect/token`, {
    grant_type: 'client_credentials', client_id: 'service', client_secret: 'service-secret', scope: 'platform:read',
  })).json();
  // Keycloak's shape: the API and `account` in `aud`, the client in `azp`.
  assert.deepEqual(claims(reply.access_token).aud, ['https://api.tokenctl.test', 'account', 'exchanger']);
  assert.equal(claims(reply.access_token).azp, 'service');
  assert.equal(reply.scope, 'platform:read');
  const wrong = await form(`${base}/realms/nmr/protocol/openid-connect/token`, {
    grant_type: 'client_credentials', client_id: 'service', client_secret: 'nope',
  });
  assert.equal(wrong.status, 401);
  assert.equal((await wrong.json()).error, 'invalid_client');
});

test('Auth0 takes a JSON body with an audience', async () => {
  const reply = await (await fetch(`${base}/auth0/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_id: 'service', client_secret: 'service-secret', audience: 'https://api.tokenctl.test', grant_type: 'client_credentials',
    }),
  })).json();
  assert.equal(claims(reply.access_token).iss, `${base}/auth0/`);
});

test('password grant, refresh with rotation and reuse detection, token exchange', async () => {
  const token = `${base}/realms/nmr/protocol/openid-connect/token`;
  const login = await (await form(token, {
    grant_type: 'password', client_id: 'cli', username: 'alice', password: 'correct-horse', scope: 'openid offline_access platform:read',
  })).json();
  assert.equal(claims(login.id_token).sub, 'alice');
  assert.ok(login.refresh_token);
  const refreshed = await (await form(token, { grant_type: 'refresh_token', client_id: 'cli', refresh_token: login.refresh_token })).json();
  assert.ok(refreshed.refresh_token && refreshed.refresh_token !== login.refresh_token, 'rotated');
  const reused = await form(token, { grant_type: 'refresh_token', client_id: 'cli', refresh_token: login.refresh_token });
  assert.equal((await reused.json()).error, 'invalid_grant');
  const bad = await form(token, { grant_type: 'password', client_id: 'cli', username: 'alice', password: 'wrong' });
  assert.equal((await bad.json()).error, 'invalid_grant');
});

test('Keycloak standard token exchange (V2) refuses what 26.2+ refuses, in its words', async () => {
  const token = `${base}/realms/nmr/protocol/openid-connect/token`;
  const login = await (await form(token, {
    grant_type: 'password', client_id: 'cli', username: 'alice', password: 'correct-horse', scope: 'openid platform:read',
  })).json();
  const exchange = (fields) => form(token, Object.fromEntries(Object.entries({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    client_id: 'exchanger', client_secret: 'exchanger-secret',
    subject_token: login.access_token, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    ...fields,
  }).filter(([, value]) => value !== undefined)));
  const refused = async (fields, status, error, description) => {
    const reply = await exchange(fields);
    assert.equal(reply.status, status, description);
    assert.deepEqual(await reply.json(), { error, error_description: description });
  };
  const exchanged = await (await exchange({ scope: 'platform:read' })).json();
  assert.equal(claims(exchanged.access_token).sub, 'alice');
  assert.equal(claims(exchanged.access_token).azp, 'exchanger');
  assert.equal(exchanged.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token');
  const narrowed = await (await exchange({ audience: 'cli' })).json();
  assert.deepEqual(claims(narrowed.access_token).aud, ['cli']);
  const id = await (await exchange({ requested_token_type: 'urn:ietf:params:oauth:token-type:id_token' })).json();
  assert.equal(id.token_type, 'N_A');
  assert.equal(claims(id.access_token).sub, 'alice');

  await refused({ subject_issuer: 'github' }, 400, 'invalid_request', "Parameter 'subject_issuer' is not supported for standard token exchange");
  await refused({ subject_token_type: 'urn:ietf:params:oauth:token-type:jwt' }, 400, 'invalid_request', "Parameter 'subject_token' supports access tokens only");
  await refused({ subject_token: 'not-a-jwt' }, 400, 'invalid_request', 'Invalid token');
  await refused({ audience: 'nobody' }, 400, 'invalid_client', 'Audience not found');
  await refused({ requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }, 400, 'invalid_request', 'requested_token_type unsupported');
  await refused({ client_secret: undefined, client_id: 'cli' }, 400, 'invalid_client', 'Public client is not allowed to exchange token');
  // A confidential client outside the subject token's audience.
  await refused({ client_id: 'service', client_secret: 'service-secret' }, 403, 'access_denied', 'Client is not within the token audience');
});

test('device flow: pending until approved through the test endpoint', async () => {
  const device = await (await form(`${base}/oidc/device/auth`, { client_id: 'cli', scope: 'openid offline_access platform:read' })).json();
  const poll = () => form(`${base}/oidc/token`, {
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: 'cli', device_code: device.device_code,
  });
  assert.equal((await (await poll()).json()).error, 'authorization_pending');
  assert.equal((await fetch(`${base}/test/device?user_code=${device.user_code}&user=bob`)).status, 200);
  const reply = await (await poll()).json();
  assert.equal(claims(reply.id_token).sub, 'bob');
  assert.ok(reply.refresh_token);

  const denied = await (await form(`${base}/oidc/device/auth`, { client_id: 'cli', scope: 'openid' })).json();
  await fetch(`${base}/test/device?user_code=${denied.user_code}&deny=1`);
  const answer = await (await form(`${base}/oidc/token`, {
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: 'cli', device_code: denied.device_code,
  })).json();
  assert.equal(answer.error, 'access_denied');
});

test('Run:ai 2.22 (v1 only) answers every grantType in camelCase and errors as {code, message}', async () => {
  const post = (path, body) => fetch(`${base}/runai-old${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const cases = [
    { grantType: 'app_token', appID: 'app-id', appSecret: 'app-secret' },
    { grantType: 'client_credentials', clientID: 'runai-client', clientSecret: 'runai-client-secret' },
    { grantType: 'password', username: 'bob', password: 'correct-horse' },
    { grantType: 'external_token_exchange', externalToken: 'ext' },
  ];
  for (const body of cases) {
    const reply = await (await post('/api/v1/token', body)).json();
    assert.ok(reply.accessToken && reply.idToken, body.grantType);
    assert.equal(reply.expires_in, undefined, 'no expires_in: the JWT says');
  }
  const login = await (await post('/api/v1/token', cases[2])).json();
  const refreshed = await (await post('/api/v1/token', { grantType: 'refresh_token', refreshToken: login.refreshToken })).json();
  assert.ok(refreshed.accessToken);
  const error = await post('/api/v1/token', { grantType: 'password', username: 'bob', password: 'nope' });
  assert.equal(error.status, 400);
  assert.deepEqual(Object.keys(await error.json()).sort(), ['code', 'details', 'message']);
  // exchange_token redeems a real code of the sign-in page: a made-up one is refused.
  const code = await post('/api/v1/token', { grantType: 'exchange_token', code: 'abc', redirectUri: 'http://127.0.0.1/callback' });
  assert.equal(code.status, 400);
  const legacy = await (await post('/v1/k8s/auth/oauth/apptoken', { id: 'app-id', name: 'ci', secret: 'app-secret' })).json();
  assert.ok(legacy.access_token && legacy.id_token);
  assert.equal((await fetch(`${base}/runai-old/api/v2/token`, { method: 'POST' })).status, 404);
});

test('a current Run:ai server: the OAuth2 form at /api/v2/token, v1 without app_token', async () => {
  const form2 = (fields) => form(`${base}/runai/api/v2/token`, fields);
  const reply = await (await form2({ grant_type: 'client_credentials', client_id: 'runai-client', client_secret: 'runai-client-secret' })).json();
  assert.equal(reply.token_type, 'Bearer');
  assert.equal(typeof reply.expires_in, 'number');
  assert.ok(reply.access_token);
  const login = await (await form2({ grant_type: 'password', username: 'bob', password: 'correct-horse' })).json();
  const refreshed = await (await form2({ grant_type: 'refresh_token', refresh_token: login.refresh_token })).json();
  assert.ok(refreshed.access_token);
  const v1 = await fetch(`${base}/runai/api/v1/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grantType: 'app_token', appID: 'app-id', appSecret: 'app-secret' }),
  });
  assert.equal(v1.status, 400, 'app_token is gone');
});

test('redirect URIs are matched as each service matches them', async () => {
  const authorize = (path, client, redirect) => fetch(`${base}${path}?${new URLSearchParams({
    response_type: 'code', client_id: client, redirect_uri: redirect, scope: 'openid',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
  })}`, { redirect: 'manual' });
  const entra = `/${TENANT}/oauth2/v2.0/authorize`;
  // Entra ID: `http://localhost` registered; any port, but the host and the path must match.
  assert.equal((await authorize(entra, 'cli', 'http://localhost:53123')).status, 303);
  assert.equal((await authorize(entra, 'cli', 'http://localhost:53123/callback')).status, 400);
  assert.equal((await authorize(entra, 'cli', 'http://127.0.0.1:53123')).status, 400);
  // Dex: exactly as registered, port and all; a trailing slash is another URI.
  assert.equal((await authorize('/oidc/auth', 'dex-cli', 'http://localhost:8000')).status, 303);
  assert.equal((await authorize('/oidc/auth', 'dex-cli', 'http://localhost:8000/')).status, 400);
  assert.equal((await authorize('/oidc/auth', 'dex-cli', 'http://localhost:8001')).status, 400);
});
