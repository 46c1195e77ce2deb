// A stub Kubernetes API server for tokenctl's end-to-end tests (test-only; not a real apiserver).
//
// One node:https server on 127.0.0.1 that authenticates as kube-apiserver's OIDC authenticator
// does (kubernetes.io/docs/reference/access-authn-authz/authentication/#openid-connect-tokens;
// k8s.io/apiserver plugin/pkg/authenticator/token/oidc/oidc.go): it takes
// `Authorization: Bearer <JWT>` and verifies the JWT against the JWKS of the issuer named in its
// `iss` (found through `${issuer}/.well-known/openid-configuration`), with no clock tolerance:
//   - `iss` is one of the --issuer values exactly (--oidc-issuer-url);
//   - `aud` holds one of the --audience values: --oidc-client-id, "a client id that all tokens
//     must be issued for" (default `cli`, the test IdP's public client), or the `audiences` of
//     an AuthenticationConfiguration's jwt[].issuer;
//   - signed RS256 (--oidc-signing-algs' default);
//   - with --username-claim email, an `email_verified` claim that is present must be true
//     ("oidc: email not verified").
// So an ID token (aud: the client) passes, and an access token for an API does not, unless the
// cluster is configured with that API's audience.
//
//   GET /api, GET /apis            discovery documents, enough for `kubectl get --raw`
//   GET /whoami                    {"sub", "iss", "exp", "aud", "username"} of the token
//   POST|PUT|PATCH /echo           {"method", "contentType", "body", "headers": {"x-test"}}
//   GET /status/NNN                answers status NNN with {"code": NNN}
//   GET /upgrade/echo (Upgrade: X) 101 Switching Protocols, then echoes what it is sent (the
//                                  shape of port-forward's and exec's upgrades)
//   GET /step-up/acr/VALUE         an API behind the same authentication that follows RFC 9470:
//                                  401 with its step-up challenge unless the token's acr is VALUE
//   GET /step-up/claims            401 with an Entra ID claims challenge (insufficient_claims)
//   GET /test/requests             unauthenticated: counts by "METHOD path", and "401" in all
//   ANY /idp/...                   with --upstream URL: unauthenticated, passed on to URL/... (a
//                                  TLS front of the test IdP: a provider behind a private CA)
//
// A missing or bad token gets 401 with a Kubernetes Status; other paths 404 (reason NotFound).
// Start: `node apiserver.js --issuer URL [--issuer URL ...] --dir DIR [--port N] [--audience AUD ...]
// [--username-claim CLAIM]
// [--certificate signed|self-signed|other-ca|named] [--upstream URL]`. It writes a test CA (DIR/ca.pem) and a server
// certificate it signed (DIR/server.pem, for 127.0.0.1 and localhost) with the openssl CLI, then
// prints one JSON line {"base": "https://127.0.0.1:PORT", "ca": "DIR/ca.pem", "other_ca": …}
// when it listens. `self-signed` serves one certificate that is its own CA (CA:TRUE, what
// `openssl req -x509` makes), and "ca" is that certificate; `other-ca` serves a certificate
// from another CA ("other_ca", as a public CA would be) while "ca" stays the cluster's own;
// `named` one from the CA for the DNS name apiserver.tokenctl.test only (kubeconfig's
// tls-server-name: the address is not in it).

import http from 'node:http';
import https from 'node:https';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';

import * as jose from 'jose';

const { values: options } = parseArgs({
  options: {
    issuer: { type: 'string', multiple: true, default: [] },
    dir: { type: 'string' },
    port: { type: 'string', default: '0' },
    audience: { type: 'string', multiple: true, default: ['cli'] },
    'username-claim': { type: 'string', default: 'sub' },
    certificate: { type: 'string', default: 'signed' },
    upstream: { type: 'string' },
  },
});
if (!options.issuer.length || !options.dir) {
  process.stderr.write('usage: node apiserver.js --issuer URL [--issuer URL ...] --dir DIR [--port N] [--audience AUD ...] [--username-claim CLAIM]\n');
  process.exit(2);
}
const DIR = path.resolve(options.dir);

/** Counts of requests by "METHOD path", and of 401 answers under "401". */
const requestCounts = new Map();
const count = (key) => requestCounts.set(key, (requestCounts.get(key) || 0) + 1);

/**
 * A CA and a leaf signed by it, rather than one self-signed certificate: webpki (rustls) refuses
 * a CA certificate as the server's own, and Go (kubectl) wants a SAN. Plain `req`/`x509` options
 * only, so it also runs with OpenSSL 1.1.1.
 */
function makeCertificates(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const file = (name) => path.join(dir, name);
  const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-subj', '/CN=tokenctl test apiserver CA', '-days', '2',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', file('ca-key.pem'), '-out', file('ca.pem'));
  openssl('req', '-new', ...ec, '-subj', '/CN=127.0.0.1', '-keyout', file('server-key.pem'), '-out', file('server.csr'));
  fs.writeFileSync(file('server.ext'), ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    options.certificate === 'named' ? 'subjectAltName=DNS:apiserver.tokenctl.test' : 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid'].join('\n'));
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca-key.pem'),
    '-set_serial', `0x${crypto.randomBytes(8).toString('hex')}`, '-days', '2',
    '-extfile', file('server.ext'), '-out', file('server.pem'));
  openssl('verify', '-CAfile', file('ca.pem'), file('server.pem'));
  if (options.certificate === 'self-signed') {
    openssl('req', '-x509', ...ec, '-subj', '/CN=127.0.0.1', '-days', '2',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', file('server-key.pem'), '-out', file('server.pem'));
    fs.copyFileSync(file('server.pem'), file('ca.pem'));
  } else if (options.certificate === 'other-ca') {
    openssl('req', '-x509', ...ec, '-subj', '/CN=tokenctl test public CA', '-days', '2',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout', file('other-ca-key.pem'), '-out', file('other-ca.pem'));
    openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('other-ca.pem'), '-CAkey', file('other-ca-key.pem'),
      '-set_serial', `0x${crypto.randomBytes(8).toString('hex')}`, '-days', '2',
      '-extfile', file('server.ext'), '-out', file('server.pem'));
  }
}

/** issuer → Promise of its remote JWKS; dropped again on failure so a later request retries. */
const jwksByIssuer = new Map();

function jwksFor(issuer) {
  if (!jwksByIssuer.has(issuer)) {
    const pending = (async () => {
      const response = await fetch(`${issuer}/.well-known/openid-configuration`);
      if (!response.ok) throw new Error(`discovery for ${issuer}: HTTP ${response.status}`);
      const { jwks_uri: jwksUri } = await response.json();
      if (!jwksUri) throw new Error(`discovery for ${issuer} has no jwks_uri`);
      return jose.createRemoteJWKSet(new URL(jwksUri));
    })();
    pending.catch(() => jwksByIssuer.delete(issuer));
    jwksByIssuer.set(issuer, pending);
  }
  return jwksByIssuer.get(issuer);
}

/** The verified claims of the request's bearer token; throws why not. */
async function authenticate(req) {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization || '');
  if (!match) throw new Error('no bearer token');
  const { iss } = jose.decodeJwt(match[1]);
  if (!options.issuer.includes(iss)) throw new Error(`unknown issuer ${iss}`);
  const { payload } = await jose.jwtVerify(match[1], await jwksFor(iss), {
    issuer: iss,
    clockTolerance: 0,
    audience: options.audience,
    algorithms: ['RS256'],
  });
  const usernameClaim = options['username-claim'];
  if (usernameClaim === 'email' && 'email_verified' in payload && payload.email_verified !== true) {
    throw new Error('oidc: email not verified');
  }
  if (typeof payload[usernameClaim] !== 'string') throw new Error(`oidc: claim ${usernameClaim} not present`);
  return { ...payload, username: payload[usernameClaim] };
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendStatus(res, code, reason, message = reason) {
  sendJson(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

/** Passes a request under /idp/ on to the upstream, as a TLS-terminating front would. */
function forward(req, res) {
  const target = new URL(req.url.slice('/idp'.length), options.upstream);
  const upstream = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (reply) => {
    res.writeHead(reply.statusCode, reply.headers);
    reply.pipe(res);
  });
  upstream.on('error', (err) => sendJson(res, 502, { error: String(err) }));
  req.pipe(upstream);
}

async function handle(req, res, port) {
  const { pathname } = new URL(req.url, 'https://127.0.0.1');
  if (req.method === 'GET' && pathname === '/test/requests') return sendJson(res, 200, Object.fromEntries(requestCounts));
  count(`${req.method} ${pathname}`);
  if (options.upstream && pathname.startsWith('/idp/')) return forward(req, res);
  let claims;
  try {
    claims = await authenticate(req);
  } catch (err) {
    const why = [err.code, err.message, err.cause?.message ?? err.cause?.code].filter(Boolean).join(': ');
    process.stderr.write(`apiserver: 401 for ${req.method} ${pathname}: ${why}\n`);
    count('401');
    return sendStatus(res, 401, 'Unauthorized');
  }
  // RFC 9470 §3: the challenge names the acr the resource wants (its example, verbatim but
  // for the value).
  const acr = /^\/step-up\/acr\/([^/]+)$/.exec(pathname)?.[1];
  if (req.method === 'GET' && acr && claims.acr !== decodeURIComponent(acr)) {
    res.setHeader('WWW-Authenticate', `Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="${decodeURIComponent(acr)}"`);
    count('401');
    return sendStatus(res, 401, 'Unauthorized');
  }
  // Entra ID's claims challenge (learn.microsoft.com, "Claims challenges, claims requests and
  // client capabilities"): base64 claims, beside an authorization_uri of Entra's own.
  if (req.method === 'GET' && pathname === '/step-up/claims') {
    res.setHeader('WWW-Authenticate', 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"');
    count('401');
    return sendStatus(res, 401, 'Unauthorized');
  }
  const status = Number(/^\/status\/([2-5]\d\d)$/.exec(pathname)?.[1]);
  if (req.method === 'GET' && pathname === '/api') {
    return sendJson(res, 200, {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${port}` }],
    });
  }
  if (req.method === 'GET' && pathname === '/apis') return sendJson(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
  // The calls of the README's quick start: NeMo-platform-style workspaces and jobs, and what
  // `kubectl get pods` and `tokenctl api /api/v1/namespaces` ask.
  if (req.method === 'GET' && pathname === '/v2/workspaces') return sendJson(res, 200, { workspaces: [{ name: 'default' }] });
  if (req.method === 'POST' && pathname === '/v2/jobs') {
    const body = Buffer.concat(await req.toArray()).toString('utf8');
    return sendJson(res, 201, { id: 'job-1', requestId: req.headers['x-request-id'] ?? null, spec: body });
  }
  if (req.method === 'GET' && pathname === '/api/v1') {
    const resource = (name, kind, namespaced) => ({ name, singularName: kind.toLowerCase(), namespaced, kind, verbs: ['get', 'list'] });
    return sendJson(res, 200, {
      kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'v1',
      resources: [resource('pods', 'Pod', true), resource('namespaces', 'Namespace', false)],
    });
  }
  if (req.method === 'GET' && pathname === '/api/v1/namespaces') {
    return sendJson(res, 200, { kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [{ metadata: { name: 'default' } }] });
  }
  if (req.method === 'GET' && /^\/api\/v1\/namespaces\/[^/]+\/pods$/.test(pathname)) {
    return sendJson(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: [] });
  }
  if (req.method === 'GET' && pathname === '/whoami') return sendJson(res, 200, {
    sub: claims.sub, iss: claims.iss, exp: claims.exp, aud: claims.aud, username: claims.username,
  });
  if (['POST', 'PUT', 'PATCH'].includes(req.method) && pathname === '/echo') {
    return sendJson(res, 200, {
      method: req.method,
      contentType: req.headers['content-type'] ?? null,
      body: Buffer.concat(await req.toArray()).toString('utf8'),
      headers: { 'x-test': req.headers['x-test'] ?? null },
    });
  }
  if (req.method === 'GET' && status) return sendJson(res, status, { code: status });
  return sendStatus(res, 404, 'NotFound', `the server could not find the requested resource (${pathname})`);
}

function main() {
  makeCertificates(DIR);
  const server = https.createServer({
    key: fs.readFileSync(path.join(DIR, 'server-key.pem')),
    cert: fs.readFileSync(path.join(DIR, 'server.pem')),
  }, (req, res) => {
    handle(req, res, server.address().port).catch((err) => {
      process.stderr.write(`apiserver: ${req.method} ${req.url}: ${err.stack || err}\n`);
      if (!res.headersSent) sendJson(res, 500, { error: String(err) });
      else res.destroy();
    });
  });
  // An upgraded connection that echoes: enough to see a proxy pass an upgrade both ways.
  server.on('upgrade', async (req, socket) => {
    const { pathname } = new URL(req.url, 'https://127.0.0.1');
    count(`UPGRADE ${pathname}`);
    try {
      await authenticate(req);
    } catch {
      count('401');
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (pathname !== '/upgrade/echo') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade}\r\n\r\n`);
    socket.pipe(socket);
  });
  server.on('tlsClientError', (err) => process.stderr.write(`apiserver: TLS: ${err.message}\n`));
  server.listen(Number(options.port), '127.0.0.1', () => {
    const { port } = server.address();
    const ready = { base: `https://127.0.0.1:${port}`, ca: path.join(DIR, 'ca.pem') };
    if (options.certificate === 'other-ca') ready.other_ca = path.join(DIR, 'other-ca.pem');
    process.stdout.write(`${JSON.stringify(ready)}\n`);
  });
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      server.close(() => process.exit(0));
      server.closeAllConnections();
    });
  }
}

main();
