// A real OpenID provider for GovKM's tests: the certified `oidc-provider`
// package on loopback, with its clients, users and groups taken from a JSON
// file the test writes (re-read at every request, so a test can change a
// user's groups, disable or delete them between two requests).
//
//   node tests/node/oidc_provider.mjs --port 45678 --state /tmp/state.json
//
// state.json: {"clients": [oidc-provider client metadata...],
//              "users": {"<sub>": {"password", "email", "given_name", "family_name",
//                                  "preferred_username", "groups": [...], "department", "disabled"}},
//              "tamper": null | "wrong_iss" | "wrong_aud" | "expired" | "not_yet_valid"
//                        | "bad_signature" | "alg_none" | "replay"}
//
// "tamper" makes the token endpoint hand out a deliberately bad ID token
// (re-signed with the provider's own key, except for bad_signature and
// alg_none): it exists so the tests can check that GovKM refuses each kind.
// It lives here, in the test provider, and nowhere in GovKM.
//
// A disabled or deleted user who still has a session here is answered
// `access_denied` when GovKM re-authenticates them silently (prompt=none),
// and cannot sign in interactively.
import fs from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

import * as jose from 'jose';
import Provider, { interactionPolicy } from 'oidc-provider';

const { values } = parseArgs({ options: { port: { type: 'string' }, state: { type: 'string' } } });
const port = Number(values.port);
const statePath = values.state;
const read = () => JSON.parse(fs.readFileSync(statePath, 'utf8'));
const issuer = `http://127.0.0.1:${port}`;
const KID = 'govkm-test-key';

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await jose.exportJWK(privateKey)), kid: KID, alg: 'RS256', use: 'sig' };
const rogue = (await jose.generateKeyPair('RS256', { extractable: true })).privateKey;

function userClaims(sub, user) {
  const claims = { sub };
  for (const name of ['email', 'given_name', 'family_name', 'preferred_username', 'groups', 'department']) {
    if (user[name] !== undefined) claims[name] = user[name];
  }
  if (user.email) claims.email_verified = true;
  if (user.given_name || user.family_name) claims.name = [user.given_name, user.family_name].filter(Boolean).join(' ');
  return claims;
}

function activeUser(sub) {
  const user = read().users[sub];
  return user && !user.disabled ? user : undefined;
}

// The default policy, and one more check before login: a session whose
// account is gone (disabled or deleted) must sign in again, and a silent
// request is refused outright.
const policy = interactionPolicy.base();
policy.get('login').checks.add(new interactionPolicy.Check(
  'account_disabled', 'the account is disabled or deleted', 'access_denied',
  (ctx) => Boolean(ctx.oidc.session.accountId && !activeUser(ctx.oidc.session.accountId)),
), 0);

const provider = new Provider(issuer, {
  clients: read().clients,
  jwks: { keys: [signingJwk] },
  cookies: { keys: ['govkm-test-provider-cookie-key'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
    department: ['department'],
  },
  scopes: ['openid', 'email', 'profile', 'groups', 'department', 'offline_access'],
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.type = 'html';
        ctx.body = '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign out</title></head>'
          + `<body><main><h1>Test identity provider: sign out</h1>${form}`
          + '<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>'
          + '</main></body></html>';
      },
    },
  },
  interactions: { policy, url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: () => true },
  async findAccount(ctx, sub) {
    const user = activeUser(sub);
    if (!user) return undefined;
    return { accountId: sub, claims: async () => userClaims(sub, user) };
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><title>Error</title><h1>${out.error}</h1><p>${out.error_description || ''}</p>`;
  },
});

// Deliberately bad ID tokens, on request (see the header).
let lastIdToken = null;
async function tampered(idToken, mode) {
  const claims = jose.decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  let key = privateKey;
  if (mode === 'replay') return lastIdToken || idToken;
  if (mode === 'wrong_iss') claims.iss = 'http://127.0.0.1:1/another-provider';
  if (mode === 'wrong_aud') claims.aud = 'another-service';
  if (mode === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  if (mode === 'not_yet_valid') Object.assign(claims, { iat: now + 3600, nbf: now + 3600, exp: now + 7200 });
  if (mode === 'bad_signature') key = rogue;
  if (mode === 'alg_none') {
    const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`;
  }
  return new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' }).sign(key);
}

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && ctx.body && ctx.body.id_token) {
    const mode = read().tamper;
    const genuine = ctx.body.id_token;
    if (mode) ctx.body = { ...ctx.body, id_token: await tampered(genuine, mode) };
    lastIdToken = genuine;
  }
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
function page(res, title, body, status = 200) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>`
    + `<body><main><h1>${escape(title)}</h1>${body}</main></body></html>`);
}

async function formBody(req) {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  return Object.fromEntries(new URLSearchParams(raw));
}

// The provider's own sign-in and consent pages.
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params, session } = details;
  const action = req.url.split('?')[0].split('/')[3];
  if (req.method === 'GET') {
    if (prompt.name === 'login') {
      return page(res, 'Test identity provider: sign in', `
        <form method="post" action="/interaction/${uid}/login">
          <p><label for="login">User name</label> <input id="login" name="login" autocomplete="username"></p>
          <p><label for="password">Password</label> <input id="password" name="password" type="password"></p>
          <p><button type="submit">Continue</button></p>
        </form>`);
    }
    return page(res, 'Test identity provider: allow access', `
      <p>${escape(params.client_id)} asks to know who you are (${escape(params.scope)}).</p>
      <form method="post" action="/interaction/${uid}/confirm"><p><button type="submit">Allow</button></p></form>`);
  }
  const form = await formBody(req);
  if (action === 'login') {
    const user = activeUser(form.login);
    if (!user || user.password !== form.password) {
      return page(res, 'Test identity provider: sign in', '<p role="alert">Wrong user name or password, or the account is disabled.</p>', 403);
    }
    return provider.interactionFinished(req, res, { login: { accountId: form.login } }, { mergeWithLastSubmission: false });
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  if (prompt.details.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const handler = provider.callback();
http.createServer(async (req, res) => {
  try {
    if (req.url.startsWith('/interaction/')) return await interaction(req, res);
    return handler(req, res);
  } catch (err) {
    page(res, 'Test identity provider: error', `<p>${escape(err.message)}</p>`, 500);
  }
}).listen(port, '127.0.0.1', () => {
  console.log(`oidc test provider listening on ${issuer}`);
});
