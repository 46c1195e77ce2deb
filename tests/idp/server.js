// The test identity provider for tokenctl's end-to-end tests.
//
// One node:http server on 127.0.0.1 mounts several oidc-provider instances, each shaped like a
// dialect tokenctl speaks, plus a fake of the Run:ai token API written from its OpenAPI:
//
//   /oidc/...                      plain OIDC (default oidc-provider routes)
//   /realms/{nmr,test}/...         Keycloak 26.2+: /protocol/openid-connect/{auth,token,...},
//                                  standard token exchange (V2)
//   /realms/legacy/...             Keycloak with the legacy token exchange (V1 preview)
//   /{tenant}/...                  Azure v2: /oauth2/v2.0/{authorize,token,devicecode},
//                                  /discovery/v2.0/keys, issuer /{tenant GUID}/v2.0, also
//                                  under its domain, /organizations, /common and /consumers
//   /auth0/...                     Auth0: /authorize, /oauth/token, /oauth/device/code, ...
//   /okta/oauth2/default/...       Okta's authorization server: /v1/{authorize,token,keys,...}
//                                  (the dialect of examples/custom-provider)
//   /runai/api/v2/token            Run:ai v2.24+ token API (OAuth2 form), beside the deprecated
//                                  /runai/api/v1/token (JSON, camelCase, no app_token)
//   /runai-old/api/v1/token        a Run:ai 2.22 server: v1 only, app_token, and the
//   /runai-old/v1/k8s/auth/oauth/apptoken   deprecated application-token endpoint
//   /cluster*/apis/auth/discovery  clusters advertising their provider in NeMo's shape (CLUSTERS)
//
// Test-only endpoints, under /test/: approve or deny a device user_code, count requests, shape
// refresh replies, hand out the private key of the client `service-jwt`, and a fake GitHub
// Actions ID token service (/test/github-actions/token).
// Start: `node server.js [--port N]`; it prints one JSON line {"base": "http://127.0.0.1:PORT"}
// when it listens. Users: any name, password "correct-horse" (or the name given with
// --password). Access tokens are JWTs for the resource https://api.tokenctl.test.

import http from 'node:http';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';
import * as jose from 'jose';

/** Start-up progress on stderr, with the time since start: shown by the tests when a start hangs. */
const started = Date.now();
const stage = (what) => process.stderr.write(`idp: ${what} after ${Date.now() - started} ms\n`);
stage('modules loaded');

const { values: options } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'access-token-ttl': { type: 'string', default: '3600' },
    password: { type: 'string', default: 'correct-horse' },
  },
});

export const RESOURCE = 'https://api.tokenctl.test';
export const API_SCOPES = ['platform:read', 'platform:write'];
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** Run:ai's own client at the `/oidc` mount, whose codes `exchange_token` redeems. */
const RUNAI_WEB = { id: 'runai-web', secret: 'runai-web-secret' };
/** The confidential client that may exchange tokens at Keycloak mounts (standard exchange). */
const EXCHANGER = 'exchanger';
const ACCESS_TOKEN_TTL = Number(options['access-token-ttl']);
const PASSWORD = options.password;

/** Counts of requests by "METHOD path", for tests that check what tokenctl sent. */
const requestCounts = new Map();
/** The query of the last authorization request, as it arrived (`/test/last-authorization`). */
let lastAuthorization = {};
/** How long the client `service-short`'s access tokens live. */
const SHORT_TOKEN_TTL = 20;
/** Milliseconds every token request waits before it is answered (`/test/delay?ms=N`): races. */
let tokenDelay = 0;
/**
 * Milliseconds every token reply is held after the request was carried out (`/test/delay?ms=N&
 * after=1`): a provider that rotates a refresh token and answers too late, or never.
 */
let tokenHold = 0;
/**
 * What refresh replies look like (`/test/refresh-reply?as=…`): `issued` as oidc-provider issues
 * them, `forged` with an ID token signed by a key no JWKS has, `bare` without `scope` and
 * `id_token` (as Entra ID and PingFederate may answer).
 */
let refreshReply = 'issued';
/**
 * The IdP's RSA keys: its signing key, Run:ai's, the `service-jwt` client's, a forger's that
 * no JWKS has, the fake GitHub Actions token service's, and an Entra app's. Test-only keys of
 * this fake, kept in test-keys.json beside it, so that no start (and no CI run) generates RSA
 * keys: generation has a long tail (4.4 s for one key on a busy 2-core machine), and CI once
 * stopped for good right where the first start generated them.
 */
function rsaKeys() {
  const names = ['signing', 'runai', 'client', 'forger', 'github', 'app'];
  const kept = JSON.parse(readFileSync(new URL('./test-keys.json', import.meta.url), 'utf8'));
  const missing = names.filter((name) => kept[name]?.kty !== 'RSA');
  if (missing.length) throw new Error(`test-keys.json lacks the RSA keys ${missing.join(', ')}`);
  return kept;
}
const rsa = rsaKeys();
stage('keys ready');
const privateKeyOf = (jwk) => crypto.createPrivateKey({ key: jwk, format: 'jwk' });
const forger = privateKeyOf(rsa.forger);
/**
 * The signing key of the Entra app `custom-keys`, which uses claims mapping: its ID tokens are
 * signed with it, and only `keys?appid=custom-keys` lists it ("If the application has custom
 * signing keys as a result of using the claims-mapping feature, append an appid query
 * parameter", Microsoft's access token documentation; angular-auth-oidc-client#1887).
 */
const appKey = privateKeyOf(rsa.app);
const APP_KEY_ID = 'custom-keys-rs256';
const APP_WITH_KEYS = 'custom-keys';
/** The key pair of the client `service-jwt` (private_key_jwt). */
const clientPrivate = privateKeyOf(rsa.client);
const clientKey = { privateKey: clientPrivate, publicKey: crypto.createPublicKey(clientPrivate) };

/**
 * A fake GitHub Actions OIDC token service: `GET /test/github-actions/token?audience=A` with the
 * runner's request token as bearer mints a job's ID token, as ACTIONS_ID_TOKEN_REQUEST_URL does.
 * The mounts trust it as the real providers are configured to: Keycloak for an external
 * exchange (`subject_issuer=github`, audience its issuer) and Entra ID for a federated
 * credential of the app `federated-app` (audience api://AzureADTokenExchange, this subject).
 */
const github = {
  key: privateKeyOf(rsa.github),
  requestToken: 'gh-runner-request-token',
  subject: 'repo:octo/app:ref:refs/heads/main',
  issuer: undefined,
  lifetime: 300,
};
github.publicKey = crypto.createPublicKey(github.key);
const AZURE_FEDERATED_AUDIENCE = 'api://AzureADTokenExchange';

async function githubToken(req, res, url) {
  if (req.headers.authorization !== `Bearer ${github.requestToken}`) {
    return sendJson(res, 401, { message: 'Bad credentials' });
  }
  const audience = url.searchParams.get('audience');
  if (!audience) return sendJson(res, 400, { message: 'audience is required by this fake' });
  const now = Math.floor(Date.now() / 1000);
  const value = await new jose.SignJWT({ repository: 'octo/app', ref: 'refs/heads/main', jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'RS256', kid: 'github-actions' })
    .setIssuer(github.issuer).setSubject(github.subject).setAudience(audience)
    .setIssuedAt(now).setNotBefore(now).setExpirationTime(now + github.lifetime)
    .sign(github.key);
  return sendJson(res, 200, { count: 1, value });
}

/** A job token of the fake GitHub service for `audience`, verified; throws otherwise. */
async function verifyGithub(token, audience) {
  const { payload } = await jose.jwtVerify(token, github.publicKey, { issuer: github.issuer, audience });
  return payload;
}

/**
 * Entra ID federated credentials: a `client_assertion` that is a GitHub job token (not a key the
 * app registered) authenticates `federated-app`. Turned here into the app's own secret for
 * oidc-provider underneath; a wrong audience or subject is refused as Entra refuses it.
 */
async function federatedAssertion(req, res) {
  if (req.method !== 'POST' || !req.body?.client_assertion) return false;
  let claims;
  try {
    claims = jose.decodeJwt(req.body.client_assertion);
  } catch {
    return false;
  }
  if (claims.iss !== github.issuer) return false;
  const refuse = (description) => { sendJson(res, 401, { error: 'invalid_client', error_description: description }); return true; };
  if (req.body.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return refuse('AADSTS700024: wrong client_assertion_type');
  try {
    await verifyGithub(req.body.client_assertion, AZURE_FEDERATED_AUDIENCE);
  } catch (err) {
    return refuse(`AADSTS700211: no matching federated identity record (${err.code || err.message})`);
  }
  if (claims.sub !== github.subject || req.body.client_id !== 'federated-app') return refuse('AADSTS70021: no matching federated identity record for this subject');
  const { client_assertion: _a, client_assertion_type: _t, ...rest } = req.body;
  req.body = { ...rest, client_secret: 'federated-app-secret' };
  return false;
}

/**
 * Clients every mount knows. Secrets are test values. `cli` is a native app whose loopback
 * redirect URIs take any port (RFC 8252 §7.3) and are matched on host and path: on Entra ID
 * mounts only `http://localhost` (no path), as MSAL registers it.
 */
function clients(redirectUris = ['http://127.0.0.1/callback', 'http://localhost/callback']) {
  return [
    {
      client_id: 'cli',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: [
        'authorization_code',
        'refresh_token',
        'urn:ietf:params:oauth:grant-type:device_code',
        'password',
        TOKEN_EXCHANGE,
      ],
      response_types: ['code'],
      redirect_uris: redirectUris,
    },
    {
      // A web application registered with one redirect URI, matched exactly (no loopback port
      // wildcard, which RFC 8252 gives native apps only): a fixed redirect-port must hit it.
      client_id: 'cli-exact',
      application_type: 'web',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:53001/callback'],
    },
    {
      // An Entra app with signing keys of its own (see appKey).
      client_id: APP_WITH_KEYS,
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['refresh_token', 'password'],
      response_types: [],
      redirect_uris: [],
    },
    {
      // A Dex static client: its redirectURIs are matched exactly, port and all (dexidp/dex
      // server/oauth2.go validateRedirectURI), as int128/kubelogin's setup registers them.
      client_id: 'dex-cli',
      application_type: 'web',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://localhost:8000', 'http://localhost:18000'],
    },
    {
      client_id: 'service',
      client_secret: 'service-secret',
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['client_credentials', 'password', 'refresh_token', TOKEN_EXCHANGE],
      response_types: [],
      redirect_uris: [],
    },
    {
      // Its access tokens live 20 seconds (see getResourceServerInfo): renewal tests.
      client_id: 'service-short',
      client_secret: 'service-short-secret',
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
    {
      // private_key_jwt only (RFC 7523): the key is handed to tests at /test/client-key.
      client_id: 'service-jwt',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ ...clientKey.publicKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' }] },
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
    {
      client_id: 'service-post',
      client_secret: 'service-post-secret',
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
    {
      // Authenticates with a GitHub Actions job token (federatedAssertion), never this secret.
      client_id: 'federated-app',
      client_secret: 'federated-app-secret',
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['client_credentials', TOKEN_EXCHANGE],
      response_types: [],
      redirect_uris: [],
    },
    {
      // Keycloak's standard token exchange requester: confidential, "Standard token exchange"
      // on (keycloak.org/securing-apps/token-exchange). Keycloak mounts name it in the
      // audience of every access token (an audience mapper), as V2 requires of a subject token.
      client_id: EXCHANGER,
      client_secret: 'exchanger-secret',
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['client_credentials', TOKEN_EXCHANGE],
      response_types: [],
      redirect_uris: [],
    },
    {
      // The client Run:ai's backend signs people in with at its identity provider: the browser
      // opens the sign-in page for it, and Run:ai redeems the code with its secret.
      client_id: RUNAI_WEB.id,
      client_secret: RUNAI_WEB.secret,
      application_type: 'native',
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback', 'http://localhost/callback'],
    },
    {
      client_id: 'service-basic',
      client_secret: 'service-basic-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
  ];
}

/** A user's claims; the account is whatever name logged in. */
async function findAccount(ctx, sub) {
  return {
    accountId: sub,
    async claims() {
      // Entra ID's v2 ID tokens name the user's directory in `tid` (learn.microsoft.com,
      // "ID token claims reference"); on other mounts no scope maps it (makeProvider's claims).
      const tid = ctx?.oidc?.provider?.tenantId;
      return {
        sub, email: `${sub}@example.com`, email_verified: true, preferred_username: sub, name: sub,
        ...(tid ? { tid, ver: '2.0' } : {}),
      };
    },
  };
}

const resourceServer = {
  scope: API_SCOPES.join(' '),
  audience: RESOURCE,
  accessTokenTTL: ACCESS_TOKEN_TTL,
  accessTokenFormat: 'jwt',
  jwt: { sign: { alg: 'RS256' } },
};

/** Signing keys shared by every mount (generated per run). */
const privateKey = privateKeyOf(rsa.signing);
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', use: 'sig', alg: 'RS256' };

function makeProvider(issuer, routes, { tenantId, keycloak, exchange } = {}) {
  const provider = new Provider(issuer, {
    // Entra ID ignores a localhost redirect URI's port and matches its path
    // (learn.microsoft.com, "Redirect URI restrictions": localhost exceptions).
    clients: tenantId ? clients(['http://localhost']) : clients(),
    findAccount,
    jwks: { keys: [signingJwk] },
    routes,
    clockTolerance: 0,
    // Keycloak's access tokens name the `account` client in `aud` (its default roles) beside
    // the API an audience mapper adds, and the client in `azp` (keycloak/keycloak#35262):
    // never the client itself, so Kubernetes' --oidc-client-id refuses them. The realm's
    // audience mapper names EXCHANGER too (see its client); an exchange with `audience` gives
    // a token for that client only (the parameter filters, Keycloak's token-exchange guide).
    ...(keycloak ? {
      formats: {
        customizers: {
          jwt: async (_ctx, token, jwt) => {
            jwt.payload.aud = token.kcAudience ?? [jwt.payload.aud, 'account', EXCHANGER].flat();
            jwt.payload.azp = token.clientId;
          },
        },
      },
    } : {}),
    scopes: ['openid', 'profile', 'email', 'offline_access', ...API_SCOPES],
    claims: {
      openid: ['sub', ...(tenantId ? ['tid', 'ver'] : [])],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    // The Run:ai backend's own client redeems its codes without a verifier (runaiRedeem).
    pkce: { required: (_ctx, client) => client.clientId !== RUNAI_WEB.id },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator, client) => {
          if (indicator !== RESOURCE) {
            throw new errors.InvalidTarget(`unknown resource ${indicator}`);
          }
          if (client?.clientId === 'service-short') {
            return { ...resourceServer, accessTokenTTL: SHORT_TOKEN_TTL };
          }
          return resourceServer;
        },
      },
    },
    // Keep the refresh token of a public client usable for tests of refresh.
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL,
      ClientCredentials: (_ctx, _token, client) => (client.clientId === 'service-short' ? SHORT_TOKEN_TTL : ACCESS_TOKEN_TTL),
      DeviceCode: 600,
      IdToken: 3600,
      RefreshToken: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      AuthorizationCode: 60,
    },
    loadExistingGrant: async (ctx) => {
      // Consent is implied for tests: every requested scope is granted.
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) {
        return ctx.oidc.provider.Grant.find(grantId);
      }
      return undefined;
    },
  });
  provider.proxy = false;
  provider.tenantId = tenantId;
  registerPasswordGrant(provider);
  registerTokenExchange(provider, exchange);
  return provider;
}

/** Grants the requested scopes: OpenID ones to the client, API ones for the resource. */
function grantScopes(grant, scopes) {
  const oidc = scopes.filter((s) => !API_SCOPES.includes(s));
  const api = scopes.filter((s) => API_SCOPES.includes(s));
  if (oidc.length) grant.addOIDCScope(oidc.join(' '));
  if (api.length) grant.addResourceScope(RESOURCE, api.join(' '));
}

/** Resource owner password credentials, as Keycloak and Azure AD (ROPC) offer it. */
function registerPasswordGrant(provider) {
  provider.registerGrantType('password', async (ctx) => {
    const { username, password, scope = '' } = ctx.oidc.params;
    if (!username || !password) {
      throw new errors.InvalidRequest('username and password are required');
    }
    if (password !== PASSWORD) {
      throw new errors.InvalidGrant('invalid username or password');
    }
    const { client } = ctx.oidc;
    // The user `reader` has no role for platform:write: it is left out of what is granted, as
    // Keycloak leaves out a scope the user's roles do not allow (the reply's `scope` says so).
    const withheld = username === 'reader' ? ['platform:write'] : [];
    const requested = scope.split(' ').filter((s) => s && !withheld.includes(s));
    const unknown = requested.filter((s) => !['openid', 'profile', 'email', 'offline_access', ...API_SCOPES].includes(s));
    if (unknown.length) {
      throw new errors.InvalidScope(`unknown scope ${unknown.join(' ')}`, unknown.join(' '));
    }
    const oidcScopes = requested.filter((s) => !API_SCOPES.includes(s));
    const apiScopes = requested.filter((s) => API_SCOPES.includes(s));
    const grant = new provider.Grant({ accountId: username, clientId: client.clientId });
    grantScopes(grant, requested);
    const grantId = await grant.save();

    const at = new provider.AccessToken({
      accountId: username, client, grantId, gty: 'password', scope: apiScopes.join(' ') || undefined,
    });
    at.resourceServer = new provider.ResourceServer(RESOURCE, resourceServer);
    const accessToken = await at.save();

    let refreshToken;
    if (requested.includes('offline_access') && client.grantTypeAllowed('refresh_token')) {
      const rt = new provider.RefreshToken({
        accountId: username, client, grantId, gty: 'password', rotations: 0,
        scope: requested.join(' '), resource: RESOURCE,
      });
      refreshToken = await rt.save();
    }

    let idToken;
    if (requested.includes('openid')) {
      const account = await findAccount(ctx, username);
      const claims = await account.claims();
      const token = new provider.IdToken({ ...claims }, { ctx });
      token.scope = oidcScopes.join(' ');
      idToken = await token.issue({ use: 'idtoken' });
    }

    ctx.body = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: at.expiration,
      scope: requested.join(' ') || undefined,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
      ...(idToken ? { id_token: idToken } : {}),
    };
  }, ['username', 'password', 'scope']);
}

const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';

/** A refusal in Keycloak's words: its error, description and HTTP status. */
function keycloakError(error, description, status = 400) {
  const err = new errors.CustomOIDCProviderError(error, description);
  err.status = status;
  err.statusCode = status;
  return err;
}

/**
 * Keycloak 26.2+'s standard token exchange (V2), as StandardTokenExchangeProvider and
 * AbstractTokenExchangeProvider (keycloak/keycloak, services/.../oidc/tokenexchange) refuse a
 * request, in their words; `payload` is the verified subject token. Throws the refusal.
 */
function checkStandardExchange(ctx, payload) {
  const { params, client } = ctx.oidc;
  // supports(): V2 exchanges this realm's access tokens only; another issuer's token is the
  // legacy V1 "external to internal" exchange.
  for (const param of ['requested_subject', 'requested_issuer', 'subject_issuer']) {
    if (params[param] !== undefined) {
      throw keycloakError('invalid_request', `Parameter '${param}' is not supported for standard token exchange`);
    }
  }
  if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
    throw keycloakError('invalid_request', "Parameter 'subject_token' supports access tokens only");
  }
  // validateAudience(): no public client, and the requester is in the subject token's audience
  // unless it holds the token.
  if (client.tokenEndpointAuthMethod === 'none') {
    throw keycloakError('invalid_client', 'Public client is not allowed to exchange token');
  }
  if (!payload) throw keycloakError('invalid_request', 'Invalid token');
  if (payload.azp !== client.clientId && ![payload.aud].flat().includes(client.clientId)) {
    throw keycloakError('access_denied', 'Client is not within the token audience', 403);
  }
  // `audience` names clients of the realm; getRequestedTokenType(): access or ID token (a
  // refresh token only where the client allows it, off by default).
  const audience = params.audience?.split(' ').filter(Boolean);
  const known = clients().map((c) => c.client_id);
  if (audience?.some((a) => !known.includes(a))) throw keycloakError('invalid_client', 'Audience not found');
  const requested = params.requested_token_type ?? ACCESS_TOKEN_TYPE;
  if (![ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE].includes(requested)) {
    throw keycloakError('invalid_request', 'requested_token_type unsupported');
  }
  return { audience, requested };
}

/**
 * RFC 8693 token exchange: a subject token signed by this test IdP (any mount) becomes a new
 * access token for the same subject, with the requested scope. `exchange: 'standard'` follows
 * Keycloak 26.2+ (checkStandardExchange); otherwise anything goes, external tokens included
 * (Keycloak's legacy V1 external-to-internal exchange names their issuer by its alias).
 */
function registerTokenExchange(provider, exchange) {
  provider.registerGrantType(TOKEN_EXCHANGE, async (ctx) => {
    const { subject_token: subjectToken, subject_token_type: subjectType, scope = '' } = ctx.oidc.params;
    if (!subjectToken || !subjectType) {
      throw new errors.InvalidRequest('subject_token and subject_token_type are required');
    }
    if (subjectType !== ACCESS_TOKEN_TYPE && subjectType !== 'urn:ietf:params:oauth:token-type:jwt') {
      throw new errors.InvalidRequest(`unsupported subject_token_type ${subjectType}`);
    }
    if (exchange === 'standard') {
      // Keycloak verifies the subject token as one of its own: this realm's issuer and key.
      const own = await jose.jwtVerify(subjectToken, crypto.createPublicKey(crypto.createPrivateKey({ key: signingJwk, format: 'jwk' })), { issuer: provider.issuer })
        .then(({ payload }) => payload, () => undefined);
      const { audience, requested } = checkStandardExchange(ctx, own);
      return standardExchange(ctx, provider, own, { audience, requested, scope });
    }
    let payload;
    const external = (() => { try { return jose.decodeJwt(subjectToken).iss === github.issuer; } catch { return false; } })();
    try {
      if (external) {
        // Keycloak's external-to-internal exchange: the issuer is named by its alias.
        if (ctx.oidc.params.subject_issuer !== 'github') {
          throw new errors.InvalidRequest('a token of an external issuer needs subject_issuer (the identity provider alias)');
        }
        payload = await verifyGithub(subjectToken, provider.issuer);
      } else {
        ({ payload } = await jose.jwtVerify(subjectToken, crypto.createPublicKey(crypto.createPrivateKey({ key: signingJwk, format: 'jwk' }))));
      }
    } catch (err) {
      if (err instanceof errors.InvalidRequest) throw err;
      throw new errors.InvalidGrant(`subject_token is not valid: ${err.code || err.message}`);
    }
    const { client } = ctx.oidc;
    const apiScopes = scope.split(' ').filter((s) => API_SCOPES.includes(s));
    const grant = new provider.Grant({ accountId: payload.sub, clientId: client.clientId });
    grantScopes(grant, apiScopes);
    const grantId = await grant.save();
    // As many servers do, the new token lives no longer than the one it was exchanged for.
    const left = typeof payload.exp === 'number' ? payload.exp - Math.floor(Date.now() / 1000) : undefined;
    const at = new provider.AccessToken({
      accountId: payload.sub, client, grantId, gty: 'token-exchange', scope: apiScopes.join(' ') || undefined,
      ...(left !== undefined && left < 3600 ? { expiresIn: Math.max(left, 1) } : {}),
    });
    at.resourceServer = new provider.ResourceServer(RESOURCE, resourceServer);
    ctx.body = {
      access_token: await at.save(),
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: at.expiration,
      ...(apiScopes.length ? { scope: apiScopes.join(' ') } : {}),
    };
  }, ['subject_token', 'subject_token_type', 'subject_issuer', 'requested_token_type', 'requested_subject', 'requested_issuer', 'audience', 'resource', 'scope', 'actor_token', 'actor_token_type']);
}

/**
 * Keycloak's standard exchange reply: an access token for the requester (for `audience` only
 * when given), or with `requested_token_type` id_token the ID token in `access_token` and
 * `token_type` N_A (RFC 8693 §2.2.1, as exchangeClientToOIDCClient answers).
 */
async function standardExchange(ctx, provider, payload, { audience, requested, scope }) {
  const { client } = ctx.oidc;
  const apiScopes = scope.split(' ').filter((s) => API_SCOPES.includes(s));
  const base = { issued_token_type: requested };
  if (requested === ID_TOKEN_TYPE) {
    const token = new provider.IdToken({ sub: payload.sub }, { ctx, client });
    token.scope = 'openid';
    return Object.assign(ctx, { body: { ...base, access_token: await token.issue({ use: 'idtoken' }), token_type: 'N_A' } });
  }
  const grant = new provider.Grant({ accountId: payload.sub, clientId: client.clientId });
  grantScopes(grant, apiScopes);
  // The new token lives no longer than the session of the one it was exchanged for.
  const left = typeof payload.exp === 'number' ? payload.exp - Math.floor(Date.now() / 1000) : undefined;
  const at = new provider.AccessToken({
    accountId: payload.sub, client, grantId: await grant.save(), gty: 'token-exchange', scope: apiScopes.join(' ') || undefined,
    ...(left !== undefined && left < 3600 ? { expiresIn: Math.max(left, 1) } : {}),
  });
  at.kcAudience = audience;
  at.resourceServer = new provider.ResourceServer(RESOURCE, resourceServer);
  ctx.body = {
    ...base,
    access_token: await at.save(),
    token_type: 'Bearer',
    expires_in: at.expiration,
    ...(apiScopes.length ? { scope: apiScopes.join(' ') } : {}),
  };
  return ctx;
}

const keycloakRoutes = {
  authorization: '/protocol/openid-connect/auth',
  token: '/protocol/openid-connect/token',
  device_authorization: '/protocol/openid-connect/auth/device',
  revocation: '/protocol/openid-connect/revoke',
  end_session: '/protocol/openid-connect/logout',
  jwks: '/protocol/openid-connect/certs',
  introspection: '/protocol/openid-connect/token/introspect',
  userinfo: '/protocol/openid-connect/userinfo',
  code_verification: '/device',
};

const oktaRoutes = {
  authorization: '/v1/authorize',
  token: '/v1/token',
  device_authorization: '/v1/device/authorize',
  revocation: '/v1/revoke',
  end_session: '/v1/logout',
  jwks: '/v1/keys',
  introspection: '/v1/introspect',
  userinfo: '/v1/userinfo',
  code_verification: '/activate',
};

const azureRoutes = {
  authorization: '/oauth2/v2.0/authorize',
  token: '/oauth2/v2.0/token',
  device_authorization: '/oauth2/v2.0/devicecode',
  end_session: '/oauth2/v2.0/logout',
  jwks: '/discovery/v2.0/keys',
  introspection: '/oauth2/v2.0/introspect',
  revocation: '/oauth2/v2.0/revoke-for-tests',
  userinfo: '/oidc/userinfo',
  code_verification: '/devicelogin',
};

const auth0Routes = {
  authorization: '/authorize',
  token: '/oauth/token',
  device_authorization: '/oauth/device/code',
  revocation: '/oauth/revoke',
  end_session: '/v2/logout',
  jwks: '/.well-known/jwks.json',
  introspection: '/oauth/introspect',
  userinfo: '/userinfo',
  code_verification: '/activate',
};

export const AZURE_TENANT = '11111111-2222-3333-4444-555555555555';
/** A verified domain of AZURE_TENANT. */
export const AZURE_DOMAIN = 'contoso.onmicrosoft.com';
/** The directory of personal Microsoft accounts, which /consumers serves. */
export const MSA_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';
/** The App ID URI of the API the Azure mount's access tokens are for (NeMo's Azure guide). */
export const AZURE_API = 'api://nmp';

/** Mount table: prefix → { provider, rewrite(path) }. Built once the port is known. */
function mounts(base) {
  const table = [];
  table.push({ prefix: '/oidc', provider: makeProvider(`${base}/oidc`) });
  // Google's shape: discovery lists only openid, email and profile; `offline_access` is an
  // invalid scope (int128/kubelogin#405), and a refresh token comes with `access_type=offline`
  // instead (developers.google.com/identity/protocols/oauth2/web-server#offline).
  table.push({ prefix: '/google', provider: makeProvider(`${base}/google`), google: true });
  // Keycloak 26.2+ speaks standard token exchange (V2); a server with the preview feature
  // `token-exchange:v1` (and FGAP v1) the legacy one, which alone takes other issuers' tokens
  // (keycloak.org/securing-apps/token-exchange, "Legacy token exchange").
  for (const [realm, exchange] of [['nmr', 'standard'], ['test', 'standard'], ['legacy', 'legacy']]) {
    table.push({
      prefix: `/realms/${realm}`,
      provider: makeProvider(`${base}/realms/${realm}`, keycloakRoutes, { keycloak: true, exchange }),
      offlineWithoutConsent: true,
    });
  }
  // Azure: the issuer is /{tenant GUID}/v2.0 and discovery sits below it. A v2 token's `iss`
  // names the tenant by its GUID in lower case whatever name the request used: a verified
  // domain's discovery document states the GUID issuer (MSAL.js #8592; Azure PowerShell
  // PR #22100 reads the tenant id from it). /organizations and /common serve every work
  // directory, so their document says `{tenantid}` and each token carries its user's `tid`
  // (coreos/go-oidc#121); /consumers is the personal accounts' directory (openiddict#1764).
  const azure = makeProvider(`${base}/${AZURE_TENANT}/v2.0`, azureRoutes, { tenantId: AZURE_TENANT });
  const consumers = makeProvider(`${base}/${MSA_TENANT}/v2.0`, azureRoutes, { tenantId: MSA_TENANT });
  const azureMount = {
    rewrite: (path) => path.replace(/^\/v2\.0\/\.well-known\//, '/.well-known/'),
    offlineWithoutConsent: true,
    entra: true,
  };
  const multiTenantIssuer = `${base}/{tenantid}/v2.0`;
  table.push({ prefix: `/${AZURE_TENANT}`, provider: azure, ...azureMount });
  table.push({ prefix: `/${AZURE_DOMAIN}`, provider: azure, ...azureMount });
  table.push({ prefix: '/organizations', provider: azure, ...azureMount, discoveryIssuer: multiTenantIssuer });
  table.push({ prefix: '/common', provider: azure, ...azureMount, discoveryIssuer: multiTenantIssuer });
  table.push({ prefix: `/${MSA_TENANT}`, provider: consumers, ...azureMount });
  table.push({ prefix: '/consumers', provider: consumers, ...azureMount });
  // Okta's custom authorization server layout, for the out-of-tree dialect of
  // examples/custom-provider: the issuer is {org}/oauth2/default, endpoints below /v1.
  table.push({
    prefix: '/okta/oauth2/default',
    provider: makeProvider(`${base}/okta/oauth2/default`, oktaRoutes),
    offlineWithoutConsent: true,
  });
  table.push({
    prefix: '/auth0',
    provider: makeProvider(`${base}/auth0/`, auth0Routes),
    audienceAsResource: true,
    offlineWithoutConsent: true,
  });
  return table;
}

/**
 * Entra ID's scopes: an API's scope is named by the API's App ID URI (`api://nmp/platform:read`,
 * or `api://nmp/.default` for all it was granted); "a scope without a resource means Microsoft
 * Graph" (learn.microsoft.com, "Scopes and permissions"), so a bare custom scope is refused with
 * AADSTS650053 as the real service refuses it (gregtwallace/certwarden-backend#12). The provider
 * underneath grants the bare names; token replies name them with the App ID URI again, as Entra's
 * `scope` does. Returns true when it answered.
 */
async function entraScopes(req, res, url) {
  const rename = (scope) => {
    const words = (scope || '').split(' ').filter(Boolean);
    const out = [];
    for (const word of words) {
      if (word === `${AZURE_API}/.default`) {
        out.push(...API_SCOPES);
      } else if (word.startsWith(`${AZURE_API}/`) && API_SCOPES.includes(word.slice(AZURE_API.length + 1))) {
        out.push(word.slice(AZURE_API.length + 1));
      } else if (['openid', 'profile', 'email', 'offline_access'].includes(word)) {
        out.push(word);
      } else {
        return { refused: word };
      }
    }
    return { scope: out.join(' ') };
  };
  const refuse = (word) => {
    sendJson(res, 400, {
      error: 'invalid_client',
      error_description: `AADSTS650053: The application 'cli' asked for scope '${word}' that doesn't exist on the resource '00000003-0000-0000-c000-000000000000'.`,
      error_codes: [650053],
    });
    return true;
  };
  if (req.method === 'GET') {
    if (!url.searchParams.has('scope')) return false;
    const { scope, refused } = rename(url.searchParams.get('scope'));
    if (refused) return refuse(refused);
    url.searchParams.set('scope', scope);
    return false;
  }
  if (req.method !== 'POST') return false;
  await formBody(req);
  if (req.body?.scope !== undefined) {
    const { scope, refused } = rename(req.body.scope);
    if (refused) return refuse(refused);
    req.body.scope = scope;
  }
  if (/\/token$/.test(url.pathname)) {
    rewriteJson(res, (reply) => (typeof reply.scope === 'string'
      ? { ...reply, scope: reply.scope.split(' ').map((w) => (API_SCOPES.includes(w) ? `${AZURE_API}/${w}` : w)).join(' ') }
      : reply));
  }
  return false;
}

/**
 * Entra ID's refusals, in its shape: `error_codes`, `correlation_id`, `suberror`, `claims`
 * (learn.microsoft.com, "Microsoft identity platform error codes"; azure-cli#32809 for a
 * Conditional Access block). The user `mfa-user` meets an MFA requirement at the password
 * grant (AADSTS50076, which ROPC cannot satisfy); the app `no-public-flows` has "Allow public
 * client flows" off, so a request without a client secret is AADSTS7000218; with
 * `/test/refresh-reply?as=interaction-required` a refresh meets an MFA step-up (microsoft/
 * vscode-azureappservice#2592). Returns true when it answered.
 */
/** The Conditional Access claims challenge of an MFA step-up (learn.microsoft.com, "Claims challenges"). */
const MFA_CLAIMS = '{"access_token":{"capolids":{"essential":true,"values":["00000000-0000-0000-0000-000000000001"]}}}';

function entraRefusal(req, res) {
  if (req.method !== 'POST' || !/\/oauth2\/v2\.0\/(token|devicecode)$/.test(req.url.split('?')[0])) return false;
  const body = req.body || {};
  const refuse = (status, error, code, text, extra = {}) => {
    const correlation = crypto.randomUUID();
    sendJson(res, status, {
      error,
      error_description: `AADSTS${code}: ${text} Trace ID: ${crypto.randomUUID()} Correlation ID: ${correlation} Timestamp: ${new Date().toISOString()}`,
      error_codes: [code],
      timestamp: new Date().toISOString(),
      trace_id: crypto.randomUUID(),
      correlation_id: correlation,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
      ...extra,
    });
    return true;
  };
  const mfa = {
    suberror: 'basic_action',
    claims: MFA_CLAIMS,
  };
  // A claims challenge comes back with the next sign-in (MSAL's `claims_challenge`, sent with
  // the device code request as with the authorization request): counted for the tests, then
  // taken off, as Entra ID takes it in.
  if (body.claims !== undefined) {
    let same = false;
    try { same = JSON.stringify(JSON.parse(body.claims)) === JSON.stringify(JSON.parse(MFA_CLAIMS)); } catch { /* not JSON */ }
    const key = same ? 'CLAIMS challenge answered' : 'CLAIMS other';
    requestCounts.set(key, (requestCounts.get(key) || 0) + 1);
    delete body.claims;
  }
  if (body.client_id === 'no-public-flows' && !body.client_secret && !body.client_assertion) {
    return refuse(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
  }
  // Client credentials take the API's `/.default` (learn.microsoft.com, "client credentials
  // flow": scope, required).
  if (body.grant_type === 'client_credentials' && !(body.scope || '').trim()) {
    return refuse(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'scope'.");
  }
  if (body.grant_type === 'password' && body.username === 'mfa-user') {
    return refuse(400, 'invalid_grant', 50076, 'Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access this resource.', mfa);
  }
  if (body.grant_type === 'refresh_token' && refreshReply === 'interaction-required') {
    return refuse(400, 'interaction_required', 50076, 'Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access this resource.', mfa);
  }
  return false;
}

/** The app `custom-keys`'s own key set, and its ID tokens signed with its key (see appKey). */
function entraAppKeys(req, res, url, rest) {
  if (rest === '/discovery/v2.0/keys' && url.searchParams.get('appid') === APP_WITH_KEYS) {
    const jwk = { ...crypto.createPublicKey(appKey).export({ format: 'jwk' }), kid: APP_KEY_ID, use: 'sig', alg: 'RS256' };
    sendJson(res, 200, { keys: [jwk] });
    return true;
  }
  if (req.method === 'POST' && req.body?.client_id === APP_WITH_KEYS && /\/token$/.test(rest)) {
    rewriteJson(res, async (reply) => {
      if (!reply.id_token) return reply;
      const claims = jose.decodeJwt(reply.id_token);
      const idToken = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: APP_KEY_ID }).sign(appKey);
      return { ...reply, id_token: idToken };
    });
  }
  return false;
}

/** Google's scope rules (see the /google mount); returns true when it answered. */
async function googleScopes(req, res, url, rest) {
  if (rest === '/.well-known/openid-configuration') {
    rewriteJson(res, (doc) => ({ ...doc, scopes_supported: ['openid', 'email', 'profile'] }));
    return false;
  }
  if (req.method === 'POST') await formBody(req);
  const params = req.method === 'GET' ? url.searchParams : new URLSearchParams(req.body || {});
  const scopes = (params.get('scope') || '').split(' ');
  if (scopes.includes('offline_access')) {
    sendJson(res, 400, { error: 'invalid_scope', error_description: 'Some requested scopes were invalid. {invalid=[offline_access]}' });
    return true;
  }
  if (req.method === 'GET' && url.searchParams.get('access_type') === 'offline') {
    // What oidc-provider underneath needs for a refresh token.
    url.searchParams.set('scope', [...scopes, 'offline_access'].join(' '));
    url.searchParams.set('prompt', 'consent');
  }
  return false;
}

/** Parses a form body into req.body once (oidc-provider then reads req.body). */
async function formBody(req) {
  if (req.body !== undefined || (req.headers['content-type'] || '').startsWith('application/json')) return;
  const raw = await readBody(req);
  req.body = Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
}

/** Reads a request body (bounded). */
async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 1 << 20) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

// ---------------------------------------------------------------------------------------------
// Run:ai token API fake: `/runai-old` is the 2.22 OpenAPI (seed 004, v1 only); `/runai` a
// current server (docs.nvidia.com/run-ai, "Create an access token v2", v2.24 to v3.0), where
// `/api/v1/token` is deprecated and its grantType enum has no `app_token`, and `/api/v2/token`
// takes an OAuth2 form and answers {access_token, token_type, expires_in}.

const runai = {
  apps: new Map([['app-id', 'app-secret']]),
  clients: new Map([['runai-client', 'runai-client-secret']]),
  refreshTokens: new Map(),
  key: null,
};

async function runaiToken(sub, extra = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new jose.SignJWT({ sub, email: `${sub}@example.com`, ...extra })
    .setProtectedHeader({ alg: 'RS256', kid: 'test-rs256' })
    .setIssuer('runai')
    .setAudience('runai')
    .setIssuedAt(now)
    .setExpirationTime(now + ACCESS_TOKEN_TTL)
    .sign(runai.key);
}

function runaiError(res, code, message, details) {
  sendJson(res, code, { code, message, ...(details ? { details } : {}) });
}

async function runaiIssue(sub, { withRefresh = true, externalToken } = {}) {
  const body = { accessToken: await runaiToken(sub), idToken: await runaiToken(sub, { typ: 'id' }) };
  if (withRefresh) {
    const refreshToken = crypto.randomBytes(24).toString('base64url');
    runai.refreshTokens.set(refreshToken, sub);
    body.refreshToken = refreshToken;
  }
  if (externalToken) body.externalToken = externalToken;
  return body;
}

/**
 * `exchange_token`: Run:ai's backend redeems the sign-in page's code at its identity provider
 * (the `/oidc` mount) as its own client. Its API has no field for a PKCE verifier, so a code
 * bound to a challenge cannot be redeemed. Returns the signed-in subject, or throws.
 */
async function runaiRedeem(code, redirectUri) {
  const reply = await fetch(`${serverBase}/oidc/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, redirect_uri: redirectUri,
      client_id: RUNAI_WEB.id, client_secret: RUNAI_WEB.secret,
    }),
  });
  const body = await reply.json();
  if (!reply.ok) throw new Error(`${body.error}: ${body.error_description}`);
  return jose.decodeJwt(body.id_token).sub;
}

/** One grant of either API version, from its fields in v1's camelCase; `{status, body}` or tokens. */
async function runaiGrant(fields, { appToken }) {
  const refuse = (details, message = 'Bad request.') => ({ error: { code: 400, message, details } });
  switch (fields.grantType) {
    case 'app_token': {
      if (!appToken) return refuse(`unknown grantType ${fields.grantType}`);
      const id = fields.appID ?? fields.clientID;
      const secret = fields.appSecret ?? fields.clientSecret;
      if (runai.apps.get(id) !== secret) return refuse('invalid application credentials');
      return runaiIssue(`app:${id}`, { withRefresh: false });
    }
    case 'client_credentials':
      if (runai.clients.get(fields.clientID) !== fields.clientSecret) return refuse('invalid client credentials');
      return runaiIssue(`client:${fields.clientID}`, { withRefresh: false });
    case 'password':
      if (!fields.username || fields.password !== PASSWORD) return refuse('invalid username or password');
      return runaiIssue(fields.username);
    case 'refresh_token': {
      const sub = runai.refreshTokens.get(fields.refreshToken);
      if (!sub) return refuse('invalid refresh token');
      runai.refreshTokens.delete(fields.refreshToken);
      return runaiIssue(sub);
    }
    case 'exchange_token': {
      if (!fields.code || !fields.redirectUri) return refuse('code and redirectUri are required');
      try {
        return runaiIssue(await runaiRedeem(fields.code, fields.redirectUri));
      } catch (err) {
        return refuse(`the code was not redeemed: ${err.message}`);
      }
    }
    case 'external_token_exchange':
      if (!fields.externalToken) return refuse('externalToken is required');
      return runaiIssue('external-user', { externalToken: fields.externalToken });
    default:
      return refuse(`unknown grantType ${fields.grantType}`);
  }
}

async function handleRunai(req, res, path, { current }) {
  if (req.method !== 'POST') return runaiError(res, 405, 'method not allowed');
  const raw = (await readBody(req)).toString('utf8');
  if (path === '/api/v2/token' && current) {
    const form = new URLSearchParams(raw);
    const reply = await runaiGrant({
      grantType: form.get('grant_type'), clientID: form.get('client_id'), clientSecret: form.get('client_secret'),
      username: form.get('username'), password: form.get('password'), refreshToken: form.get('refresh_token'),
      code: form.get('code'), redirectUri: form.get('redirect_uri'), externalToken: form.get('external_token'),
    }, { appToken: false });
    if (reply.error) return runaiError(res, reply.error.code, reply.error.message, reply.error.details);
    return sendJson(res, 200, {
      access_token: reply.accessToken, token_type: 'Bearer', expires_in: ACCESS_TOKEN_TTL,
      ...(reply.refreshToken ? { refresh_token: reply.refreshToken } : {}),
      ...(reply.idToken ? { id_token: reply.idToken } : {}),
    });
  }
  const legacyPath = path === '/v1/k8s/auth/oauth/apptoken' && !current;
  if (path !== '/api/v1/token' && !legacyPath) return runaiError(res, 404, 'not found');
  let body;
  try {
    body = JSON.parse(raw);
  } catch {
    return runaiError(res, 400, 'Bad request.', 'request body is not JSON');
  }
  if (legacyPath) {
    if (runai.apps.get(body.id) !== body.secret || !body.name) {
      return runaiError(res, 400, 'Bad request.', 'invalid application credentials');
    }
    const access = await runaiToken(`app:${body.name}`);
    return sendJson(res, 200, { access_token: access, id_token: await runaiToken(`app:${body.name}`, { typ: 'id' }) });
  }
  const reply = await runaiGrant(body, { appToken: !current });
  if (reply.error) return runaiError(res, reply.error.code, reply.error.message, reply.error.details);
  return sendJson(res, 200, reply);
}

// ---------------------------------------------------------------------------------------------
// NeMo-platform-style clusters that say which provider issues their tokens, in the documented
// shape of `GET /apis/auth/discovery` (NeMo Platform API reference, "Get Auth Discovery"):
// `auth_enabled`, and `oidc` only when OIDC is on, with `default_scopes` a space-separated string
// (the NeMo config template's) and `scope_prefix` for custom scopes; NeMo Helix lists `clients`,
// exactly one of them the default.

/** `http://127.0.0.1:PORT`, once listening. */
let serverBase;

const NEMO_DEFAULT_SCOPES = 'openid profile email offline_access platform:read platform:write';

/** The `oidc` object for a provider whose endpoints sit below `base`, named by `paths`. */
function nemoOidc(issuer, base, paths) {
  return {
    issuer,
    authorization_endpoint: `${base}${paths.authorization}`,
    token_endpoint: `${base}${paths.token}`,
    device_authorization_endpoint: `${base}${paths.device}`,
    default_scopes: NEMO_DEFAULT_SCOPES,
  };
}

const OIDC_PATHS = { authorization: '/auth', token: '/token', device: '/device/auth' };
const AZURE_PATHS = { authorization: '/oauth2/v2.0/authorize', token: '/oauth2/v2.0/token', device: '/oauth2/v2.0/devicecode' };

const CLUSTERS = {
  // Backed by the plain OIDC mount.
  cluster: (base) => ({
    auth_enabled: true,
    oidc: { ...nemoOidc(`${base}/oidc`, `${base}/oidc`, OIDC_PATHS), client_id: 'cli' },
  }),
  // Backed by the Entra mount, as NeMo's Azure guide sets it up: the API's scopes are named by
  // its App ID URI, which `scope_prefix` gives.
  'cluster-entra': (base) => ({
    auth_enabled: true,
    oidc: {
      ...nemoOidc(`${base}/${AZURE_TENANT}/v2.0`, `${base}/${AZURE_TENANT}`, AZURE_PATHS),
      client_id: 'cli',
      scope_prefix: `${AZURE_API}/`,
    },
  }),
  // NeMo Helix: a list of clients.
  'cluster-helix': (base) => ({
    auth_enabled: true,
    oidc: {
      ...nemoOidc(`${base}/oidc`, `${base}/oidc`, OIDC_PATHS),
      clients: [{ client_id: 'web', name: 'Studio' }, { client_id: 'cli', name: 'CLI', default: true }],
    },
  }),
  // Authentication off: no `oidc` at all.
  'cluster-open': () => ({ auth_enabled: false }),
};

// ---------------------------------------------------------------------------------------------
// Test-only endpoints.

/** Approves (or denies) a pending device authorization by its user_code, as a user would. */
async function handleTestApi(req, res, path, table) {
  const url = new URL(req.url, 'http://x');
  if (path === '/test/last-authorization') return sendJson(res, 200, lastAuthorization);
  if (path === '/test/requests') {
    return sendJson(res, 200, Object.fromEntries(requestCounts));
  }
  if (path === '/test/client-key') {
    res.writeHead(200, { 'content-type': 'application/x-pem-file' });
    return res.end(clientKey.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  }
  if (path === '/test/refresh-reply') {
    refreshReply = url.searchParams.get('as') || 'issued';
    return sendJson(res, 200, { as: refreshReply });
  }
  if (path === '/test/delay') {
    const ms = Number(url.searchParams.get('ms') || '0');
    if (url.searchParams.get('after') === '1') tokenHold = ms;
    else tokenDelay = ms;
    return sendJson(res, 200, { delay: tokenDelay, hold: tokenHold });
  }
  if (path === '/test/device') {
    const userCode = (url.searchParams.get('user_code') || '').replace(/[^A-Z0-9]/gi, '').toUpperCase();
    const deny = url.searchParams.get('deny') === '1';
    const account = url.searchParams.get('user') || 'alice';
    for (const { provider } of table) {
      const code = await provider.DeviceCode.findByUserCode(userCode, { ignoreExpiration: true }).catch(() => undefined);
      if (!code) continue;
      if (deny) {
        code.error = 'access_denied';
        code.errorDescription = 'the user denied the request';
      } else {
        // What oidc-provider's own device confirmation page records, with consent implied.
        const scopes = (code.params.scope || '').split(' ').filter(Boolean);
        const grant = new provider.Grant({ accountId: account, clientId: code.clientId });
        grantScopes(grant, scopes);
        Object.assign(code, {
          accountId: account,
          authTime: Math.floor(Date.now() / 1000),
          grantId: await grant.save(),
          scope: scopes.join(' '),
          resource: RESOURCE,
        });
      }
      await code.save();
      return sendJson(res, 200, { approved: !deny, user_code: userCode });
    }
    return sendJson(res, 404, { error: 'no such user_code' });
  }
  return sendJson(res, 404, { error: 'unknown test endpoint' });
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const runaiPrivate = privateKeyOf(rsa.runai);
  const publicKey = crypto.createPublicKey(runaiPrivate);
  runai.key = runaiPrivate;
  runai.jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'test-rs256', use: 'sig', alg: 'RS256' }] };

  let table = [];
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const key = `${req.method} ${url.pathname}`;
    requestCounts.set(key, (requestCounts.get(key) || 0) + 1);
    try {
      if (url.pathname === '/test/github-actions/token') return await githubToken(req, res, url);
      if (url.pathname.startsWith('/test/')) return await handleTestApi(req, res, url.pathname, table);
      if (tokenDelay > 0 && req.method === 'POST' && url.pathname.endsWith('/token')) {
        await new Promise((resolve) => { setTimeout(resolve, tokenDelay); });
      }
      if (tokenHold > 0 && req.method === 'POST' && url.pathname.endsWith('/token')) {
        const end = res.end.bind(res);
        const hold = tokenHold;
        res.end = (...args) => { setTimeout(() => end(...args), hold); return res; };
      }
      if (url.pathname === '/runai/jwks') return sendJson(res, 200, runai.jwks);
      const discovery = /^\/(cluster[a-z-]*)\/apis\/auth\/discovery$/.exec(url.pathname);
      if (discovery && CLUSTERS[discovery[1]]) return sendJson(res, 200, CLUSTERS[discovery[1]](serverBase));
      if (url.pathname.startsWith('/runai/')) return await handleRunai(req, res, url.pathname.slice('/runai'.length), { current: true });
      if (url.pathname.startsWith('/runai-old/')) return await handleRunai(req, res, url.pathname.slice('/runai-old'.length), { current: false });
      const mount = table.find(({ prefix }) => url.pathname === prefix || url.pathname.startsWith(`${prefix}/`));
      if (!mount) return sendJson(res, 404, { error: 'not_found' });
      let rest = url.pathname.slice(mount.prefix.length) || '/';
      if (mount.rewrite) rest = mount.rewrite(rest);
      if (mount.audienceAsResource) await audienceAsResource(req);
      if (mount.entra && (await entraScopes(req, res, url))) return undefined;
      if (mount.entra && entraRefusal(req, res)) return undefined;
      if (mount.entra && entraAppKeys(req, res, url, rest)) return undefined;
      if (mount.google && (await googleScopes(req, res, url, rest))) return undefined;
      if (CLIENT_ENDPOINT.test(rest) && (await refusedClientAuth(req, res, mount))) return undefined;
      if (mount.prefix === '/auth0' && auth0Assertion(req, res, mount)) return undefined;
      // Auth0 answers a client it cannot authenticate (a wrong secret) with 401 access_denied
      // "Unauthorized", never invalid_client (auth0/node-auth0#682).
      if (mount.prefix === '/auth0' && CLIENT_ENDPOINT.test(rest)) {
        rewriteJson(res, (reply) => (reply.error === 'invalid_client'
          ? { error: 'access_denied', error_description: 'Unauthorized' }
          : reply));
      }
      if (CLIENT_ENDPOINT.test(rest) && (await federatedAssertion(req, res))) return undefined;
      if (refreshReply !== 'issued' && req.body?.grant_type === 'refresh_token') rewriteReply(res, refreshReply);
      // Entra ID's discovery names its cloud instance (learn.microsoft.com, "OpenID Connect
      // on the Microsoft identity platform": cloud_instance_name microsoftonline.com).
      if (mount.entra && rest === '/.well-known/openid-configuration') {
        rewriteJson(res, (doc) => ({
          ...doc,
          cloud_instance_name: 'microsoftonline.com',
          ...(mount.discoveryIssuer ? { issuer: mount.discoveryIssuer } : {}),
        }));
      }
      // oidc-provider derives its mount path from originalUrl minus url, as under express.
      let { search } = url;
      if (req.method === 'GET' && /\/(auth|authorize)$/.test(rest)) {
        lastAuthorization = Object.fromEntries(url.searchParams);
        // Entra ID takes prompt=select_account and shows its account picker (learn.microsoft.com,
        // "Microsoft identity platform and OAuth 2.0 authorization code flow", `prompt`);
        // oidc-provider knows only login and consent, so its login page stands for the picker.
        if (mount.entra && url.searchParams.get('prompt') === 'select_account') {
          const shown = new URLSearchParams(search);
          shown.delete('prompt');
          search = `?${shown}`;
        }
      }
      if (mount.offlineWithoutConsent) search = offlineAsKeycloakDoes(search);
      req.url = rest + search;
      req.originalUrl = mount.prefix + rest + search;
      return mount.provider.callback()(req, res);
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: String(err) });
      return undefined;
    }
  });
  server.listen(Number(options.port), '127.0.0.1', () => {
    const { port } = server.address();
    const base = `http://127.0.0.1:${port}`;
    stage(`listening on ${base}`);
    serverBase = base;
    github.issuer = `${base}/github-actions`;
    table = mounts(base);
    stage('providers mounted');
    process.stdout.write(`${JSON.stringify({ base, pid: process.pid })}\n`);
  });
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
}

/**
 * Clients registered for exactly one way of sending their secret, as Auth0 applications and many
 * servers' defaults are; oidc-provider itself takes either. `service-post` takes its secret only
 * in the form, `service-basic` only in an HTTP Basic header. A request the other way is refused as
 * the servers do: 401 invalid_client, and on the Auth0 mount a 401 with an empty body.
 */
const ONE_WAY_CLIENTS = { 'service-post': 'post', 'service-basic': 'basic' };
/** The endpoints where a client authenticates (token, revocation, device, introspection). */
const CLIENT_ENDPOINT = /\/(token|revoke|revocation|devicecode|code|device|introspect|introspection)$/;

async function refusedClientAuth(req, res, mount) {
  if (req.method !== 'POST' || (req.headers['content-type'] || '').startsWith('application/json')) return false;
  await formBody(req);
  const basic = /^basic /i.test(req.headers.authorization || '');
  let clientId = req.body.client_id;
  if (basic) {
    const decoded = Buffer.from(req.headers.authorization.slice(6), 'base64').toString('utf8');
    clientId = decodeURIComponent(decoded.split(':')[0].replace(/\+/g, ' '));
  } else if (req.body.client_secret === undefined) {
    return false;
  }
  const way = ONE_WAY_CLIENTS[clientId];
  if (!way || way === (basic ? 'basic' : 'post')) return false;
  if (mount.prefix === '/auth0') {
    // Auth0's answer to a secret sent the way its app is not registered for
    // (auth0-samples/auth0-angular-samples#201; auth0/node-auth0#682).
    sendJson(res, 401, { error: 'access_denied', error_description: 'Unauthorized' });
  } else {
    sendJson(res, 401, { error: 'invalid_client', error_description: 'client authentication failed' });
  }
  return true;
}

/**
 * Rewrites the token reply `res` is about to send: `forged` signs the ID token's claims with a
 * key that is in no JWKS (what a client must refuse after a refresh, OpenID Connect 12.2);
 * `bare` leaves out `scope` and `id_token`.
 */
function rewriteReply(res, as) {
  rewriteJson(res, async (reply) => {
    if (!reply.access_token) return reply;
    if (as === 'bare') {
      const { scope: _scope, id_token: _idToken, ...rest } = reply;
      return rest;
    }
    if (!reply.id_token) return reply;
    const claims = jose.decodeJwt(reply.id_token);
    const forged = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'forged' }).sign(forger);
    return { ...reply, id_token: forged };
  });
}

/**
 * Rewrites the JSON body `res` is about to send with `change` (which may be async); a body that
 * is not JSON goes out as it is. The body changes length: it goes out with its own
 * Content-Length, not the one oidc-provider set.
 */
function rewriteJson(res, change) {
  const chunks = [];
  const { end, setHeader } = res;
  res.setHeader = (name, value) => (String(name).toLowerCase() === 'content-length' ? res : setHeader.call(res, name, value));
  res.write = (chunk) => { chunks.push(Buffer.from(chunk)); return true; };
  res.end = (chunk) => {
    if (chunk && typeof chunk !== 'function') chunks.push(Buffer.from(chunk));
    const text = Buffer.concat(chunks).toString('utf8');
    const send = (out) => {
      if (!res.headersSent) setHeader.call(res, 'content-length', Buffer.byteLength(out));
      return end.call(res, out);
    };
    let body;
    try { body = JSON.parse(text); } catch { return send(text); }
    return Promise.resolve(change(body)).then((changed) => send(JSON.stringify(changed)));
  };
}

/**
 * Auth0 takes a private_key_jwt assertion addressed to the tenant's URL with its trailing slash
 * and nothing else ("Include the trailing slash", auth0.com/docs, "Authenticate with Private
 * Key JWT"); oidc-provider underneath would take the token endpoint too. Returns true when it
 * answered.
 */
function auth0Assertion(req, res, mount) {
  const assertion = req.body?.client_assertion;
  if (req.method !== 'POST' || !assertion) return false;
  let aud;
  try { ({ aud } = jose.decodeJwt(assertion)); } catch { return false; }
  const tenant = mount.provider.issuer;
  if ([aud].flat().includes(tenant)) return false;
  sendJson(res, 401, { error: 'access_denied', error_description: `The JWT audience must be ${tenant}` });
  return true;
}

/**
 * Keycloak, Entra ID and Auth0 issue a refresh token for `offline_access` without a consent
 * prompt; oidc-provider, by the letter of OpenID Connect, only with `prompt=consent`. The
 * dialect mounts add it to authorization requests so they behave like the real thing.
 */
function offlineAsKeycloakDoes(search) {
  const params = new URLSearchParams(search);
  if (!params.has('response_type') || params.has('prompt')) return search;
  if (!(params.get('scope') || '').split(' ').includes('offline_access')) return search;
  params.set('prompt', 'consent');
  return `?${params.toString()}`;
}

/**
 * Auth0 takes `audience` (and JSON bodies) where the OAuth standard says `resource`: translate
 * the request so the standard provider underneath understands it.
 */
async function audienceAsResource(req) {
  if (req.method !== 'POST') {
    const url = new URL(req.url, 'http://x');
    if (url.searchParams.has('audience')) {
      url.searchParams.set('resource', url.searchParams.get('audience'));
      url.searchParams.delete('audience');
      req.url = url.pathname + url.search;
    }
    return;
  }
  const raw = await readBody(req);
  const type = req.headers['content-type'] || '';
  let params;
  if (type.startsWith('application/json')) {
    params = new URLSearchParams(Object.entries(JSON.parse(raw.toString('utf8') || '{}')));
  } else {
    params = new URLSearchParams(raw.toString('utf8'));
  }
  if (params.has('audience')) {
    params.set('resource', params.get('audience'));
    params.delete('audience');
  }
  // The stream is consumed: oidc-provider then reads the parsed body from req.body.
  req.headers['content-type'] = 'application/x-www-form-urlencoded';
  req.body = Object.fromEntries(params);
}

main();
