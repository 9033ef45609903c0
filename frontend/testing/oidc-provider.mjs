// A real OpenID Connect provider (panva's oidc-provider) for Telederm's tests, on loopback only.
//
//   node frontend/testing/oidc-provider.mjs CONFIG.json [PORT]
//
// PORT (or the environment variable OIDC_PROVIDER_PORT) 0 or unset picks a free port. When the
// server is ready it prints one line on stdout, `listening http://127.0.0.1:PORT`; that URL is the
// issuer. The process runs until it is killed.
//
// CONFIG.json:
//   {
//     "title": "ID-porten (test)",
//     "clients": [{"client_id": "...", "client_secret": "...", "redirect_uris": ["..."],
//                  "token_endpoint_auth_method": "client_secret_post"}],
//     "scopes": {"openid": ["sub", "pid"], "profile": ["name", "given_name", "family_name"]},
//     "accounts": {"kari": {"label": "Kari Nordmann", "claims": {"pid": "...", "name": "..."}}},
//     "assurance": {"claim": "acr", "label": "Security level",
//                   "values": [{"value": "idporten-loa-high", "label": "High"}]}
//   }
//
// `scopes` maps each scope to the claims it releases (they reach both the ID token and the userinfo
// endpoint). `assurance` is the level the tester picks on the login page: when its claim is "acr"
// it becomes the ID token's acr (and the values are the provider's acr_values_supported);
// otherwise the chosen value is released as that claim (for example HelseID's
// helseid://claims/identity/security_level) with the scopes that list it.
//
// Interactions are minimal and custom: one login page listing the test accounts and the levels,
// and consent granted automatically for whatever the client asked. PKCE (S256) is required of
// every client. Nothing here is for production: keys, sessions and grants live in memory.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const HOST = '127.0.0.1';

function fail(message) {
  console.error(`oidc-provider.mjs: ${message}`);
  process.exit(2);
}

const [configPath, portArgument] = process.argv.slice(2);
if (!configPath) fail('usage: node oidc-provider.mjs CONFIG.json [PORT]');
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const port = Number(portArgument ?? process.env.OIDC_PROVIDER_PORT ?? 0);
if (!Number.isInteger(port) || port < 0) fail(`not a port: ${portArgument}`);

const title = config.title ?? 'Test identity provider';
const accounts = config.accounts ?? {};
const scopes = config.scopes ?? { openid: ['sub'] };
const assurance = config.assurance ?? { claim: 'acr', label: 'Security level', values: [] };
const levels = assurance.values.map((level) => level.value);
const levelIsAcr = assurance.claim === 'acr';

// The level chosen at sign-in, by grant: the token endpoint (ID token) and the userinfo endpoint
// both look up the account with a token that names its grant.
const levelByGrant = new Map();

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function page(heading, body) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(heading)}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; color: #1b1f23; background: #fff; line-height: 1.5; }
  header { background: #2b2b6b; color: #fff; padding: .75rem 1rem; font-weight: 700; }
  main { max-width: 32rem; margin: 0 auto; padding: 1rem; }
  fieldset { border: 1px solid #767676; border-radius: 6px; margin: 0 0 1rem; padding: .5rem 1rem 1rem; }
  legend { font-weight: 600; padding: 0 .25rem; }
  label { display: flex; gap: .5rem; align-items: center; padding: .3rem 0; }
  input[type=radio] { width: 1.25rem; height: 1.25rem; margin: 0; }
  button { font: inherit; padding: .6rem 1.2rem; border-radius: 6px; border: 2px solid #2b2b6b; cursor: pointer; }
  button[value=login] { background: #2b2b6b; color: #fff; }
  button[value=abort] { background: #fff; color: #2b2b6b; }
  :focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }
</style>
</head>
<body>
<header>${escapeHtml(title)}</header>
<main>
<h1>${escapeHtml(heading)}</h1>
${body}
</main>
</body>
</html>`;
}

function loginPage(uid, clientId) {
  const accountChoices = Object.entries(accounts).map(([id, account], index) => `
    <label><input type="radio" name="account" value="${escapeHtml(id)}"${index === 0 ? ' checked' : ''}> ${escapeHtml(account.label ?? id)}</label>`).join('');
  const levelChoices = assurance.values.map((level, index) => `
    <label><input type="radio" name="level" value="${escapeHtml(level.value)}"${index === 0 ? ' checked' : ''}> ${escapeHtml(level.label ?? level.value)}</label>`).join('');
  return page('Sign in (test)', `
<p>A test identity provider on this computer. Signing in for <strong>${escapeHtml(clientId)}</strong>.</p>
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
  <fieldset><legend>Test person</legend>${accountChoices}</fieldset>
  ${levels.length ? `<fieldset><legend>${escapeHtml(assurance.label ?? 'Security level')}</legend>${levelChoices}</fieldset>` : ''}
  <button type="submit" name="action" value="login">Sign in</button>
  <button type="submit" name="action" value="abort" formaction="/interaction/${escapeHtml(uid)}/abort">Cancel</button>
</form>`);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

async function grantEverything(provider, details) {
  // Consent, granted at once: every scope and claim the client asked for.
  const { prompt: { details: missing }, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  return grant.save();
}

async function interactions(provider, req, res, url) {
  const [, , uid, action] = url.pathname.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page('Wrong interaction', '<p>Start again.</p>'));

  if (req.method === 'GET' && !action) {
    if (details.prompt.name === 'login') {
      return send(res, 200, loginPage(uid, details.params.client_id));
    }
    if (details.prompt.name === 'consent') {
      const grantId = await grantEverything(provider, details);
      return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    }
    return send(res, 400, page('Unknown step', `<p>${escapeHtml(details.prompt.name)}</p>`));
  }

  if (req.method === 'POST' && action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'The person cancelled the sign-in.',
    }, { mergeWithLastSubmission: false });
  }

  if (req.method === 'POST' && action === 'login') {
    const form = await readForm(req);
    const accountId = form.get('account');
    const level = form.get('level');
    if (!accountId || !Object.hasOwn(accounts, accountId)) {
      return send(res, 400, page('Unknown test person', '<p>Go back and choose one.</p>'));
    }
    if (levels.length && !levels.includes(level)) {
      return send(res, 400, page('Unknown level', '<p>Go back and choose one.</p>'));
    }
    const login = { accountId, remember: false };
    if (levelIsAcr && level) login.acr = level;
    return provider.interactionFinished(req, res, { login, assurance: level ?? null }, { mergeWithLastSubmission: false });
  }
  return send(res, 405, page('Not allowed', '<p>Method not allowed.</p>'));
}

const server = createServer();
server.listen(port, HOST, () => {
  const issuer = `http://${HOST}:${server.address().port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

  const claims = { acr: null, auth_time: null, iss: null, sid: null, ...scopes };
  const provider = new Provider(issuer, {
    clients: (config.clients ?? []).map((client) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
      ...client,
    })),
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims,
    scopes: Object.keys(scopes),
    acrValues: levelIsAcr ? levels : [],
    // Release the scopes' claims in the ID token too, not only at the userinfo endpoint.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    clientBasedCORS: () => false,
    ttl: {
      AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600,
    },
    async findAccount(ctx, sub, token) {
      const account = accounts[sub];
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims() {
          const released = { ...account.claims, sub };
          const level = token?.grantId ? levelByGrant.get(token.grantId) : undefined;
          if (!levelIsAcr && level != null) released[assurance.claim] = level;
          return released;
        },
      };
    },
    async loadExistingGrant(ctx) {
      // Consent is automatic: a fresh grant for every authorization, with everything requested.
      const { oidc } = ctx;
      const previous = oidc.session.grantIdFor(oidc.client.clientId);
      const level = oidc.result?.assurance ?? (previous ? levelByGrant.get(previous) : undefined);
      const grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
      grant.addOIDCScope([...oidc.requestParamScopes].join(' '));
      grant.addOIDCClaims([...oidc.requestParamClaims]);
      await grant.save();
      if (level != null) levelByGrant.set(grant.jti, level);
      return grant;
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Sign-in failed', Object.entries(out).map(
        ([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: ${escapeHtml(value)}</p>`,
      ).join(''));
    },
  });
  for (const event of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error', 'jwks.error']) {
    provider.on(event, (ctx, error) => console.error(`${event}: ${error?.message ?? error} ${error?.error_description ?? ''}`));
  }
  const handle = provider.callback();

  server.on('request', async (req, res) => {
    const url = new URL(req.url, issuer);
    if (url.pathname.startsWith('/interaction/')) {
      try {
        await interactions(provider, req, res, url);
      } catch (error) {
        console.error(`interaction: ${error?.stack ?? error}`);
        if (!res.headersSent) send(res, 400, page('Sign-in failed', `<p>${escapeHtml(error?.message ?? error)}</p>`));
      }
      return;
    }
    handle(req, res);
  });
  console.log(`listening ${issuer}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
