// A real OpenID provider for the single sign-on tests: panva's oidc-provider (certified by the
// OpenID Foundation), with minimal interactions of ours: a sign-in page that loads nothing
// (its own development pages load web fonts from the internet) and consent given at once.
// tests/oidc/provider.py starts it:
//
//   node provider.mjs PORT   with   OIDC_TEST_CONFIG='{"accounts": {...}, "clients": [...],
//                                                       "claimsInIdToken": false}'
//
// Accounts: the login name typed on the sign-in page -> {email, email_verified, xms_edov}; any password
// is accepted. Clients: oidc-provider client metadata. Prints "ready <issuer>" once listening.
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
// claimsInIdToken: the e-mail claims in the ID token and no userinfo endpoint at all (as some
// providers do); otherwise oidc-provider's default: scope claims from userinfo only.
const { accounts, clients, claimsInIdToken } = JSON.parse(process.env.OIDC_TEST_CONFIG);
const issuer = `http://localhost:${port}`;

const provider = new Provider(issuer, {
  clients,
  async findAccount(_ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
  // xms_edov: Microsoft Entra ID's optional claim, given with the email scope like its others.
  claims: { openid: ['sub'], email: ['email', 'email_verified', 'xms_edov'] },
  // Every client must use PKCE here, so a client that forgot it fails the tests.
  pkce: { required: () => true },
  cookies: { keys: ['tests-only-not-a-secret'] },
  conformIdTokenClaims: !claimsInIdToken,
  features: { devInteractions: { enabled: false }, userinfo: { enabled: !claimsInIdToken } },
});

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function signInPage(uid, error) {
  return `<!doctype html><html lang="en"><title>Test provider: sign in</title>
<h1>Test provider</h1>
${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
  <label>Login <input name="login" autofocus></label>
  <label>Password <input name="password" type="password"></label>
  <button type="submit">Sign in at the provider</button>
</form>
<a href="/interaction/${uid}/abort">Cancel</a>
</html>`;
}

async function formOf(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

// The interaction: /interaction/UID (the page), .../login (its form), .../abort (Cancel).
provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([\w-]+)(\/login|\/abort)?$/);
  if (!match) return next();
  const [, uid, action] = match;
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== uid) ctx.throw(400, 'not this interaction');
  if (details.prompt.name === 'consent') {
    // Our clients are first-party: consent is given without asking (oidc-provider asks it
    // of native clients on every sign-in, as RFC 8252 section 8.6 advises).
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    grant.addOIDCScope('openid email');
    const result = { consent: { grantId: await grant.save() } };
    await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
    ctx.respond = false;
    return undefined;
  }
  ctx.set('cache-control', 'no-store');
  if (!action && ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = signInPage(uid);
  } else if (action === '/login' && ctx.method === 'POST') {
    const login = (await formOf(ctx.req)).get('login') || '';
    if (!accounts[login]) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = signInPage(uid, `No account named ${login}.`);
      return undefined;
    }
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: login } }, {
      mergeWithLastSubmission: false,
    });
    ctx.respond = false;
  } else if (action === '/abort' && ctx.method === 'GET') {
    const result = { error: 'access_denied', error_description: 'the user cancelled' };
    await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.respond = false;
  } else {
    ctx.throw(405);
  }
  return undefined;
});

provider.on('server_error', (_ctx, err) => console.error('server_error', err));
provider.listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
