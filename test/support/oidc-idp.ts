import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/**
 * A real OpenID Provider for tests: panva's oidc-provider 8.8.1 (certified; the last line for
 * Node 20) run in-process on 127.0.0.1, port 0. Its dev login form takes any password, the login
 * is the account, and the account's e-mail and groups come from `accounts`. The signing key is
 * ours, so a test can also mint ID tokens the provider would (or must not) issue: `tamper`
 * answers the token endpoint with such a token instead of the provider's.
 */

export interface TestAccount {
  email: string;
  name?: string;
  groups: string[];
}

export interface IdToken {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

export interface TestIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  accounts: Map<string, TestAccount>;
  /** The ID token the next code exchanges get, made from what the real one would hold; null: the provider answers. */
  tamper: ((token: IdToken) => { token: IdToken; key?: crypto.KeyObject }) | null;
  /** How many times the token endpoint and the end-session endpoint were called. */
  calls: { token: number; endSession: number };
  /** Signs a JWT with the provider's key (or another). */
  sign(token: IdToken, key?: crypto.KeyObject): string;
  stop(): Promise<void>;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export async function startTestIdp(opts: { redirectUris: string[]; postLogoutRedirectUris: string[]; clientId?: string }): Promise<TestIdp> {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = crypto.randomBytes(8).toString('hex');
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = opts.clientId ?? 'dialin-admin-center';
  const clientSecret = crypto.randomBytes(24).toString('base64url');
  const accounts = new Map<string, TestAccount>();
  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: opts.redirectUris, post_logout_redirect_uris: opts.postLogoutRedirectUris, grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' }],
    jwks: { keys: [jwk as never] },
    cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    pkce: { required: () => true },
    async findAccount(_ctx, id) {
      const a = accounts.get(id);
      if (!a) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, email: a.email, email_verified: true, name: a.name ?? id, groups: a.groups }) };
    },
    // A first-party client: no consent screen (the grant is made at once).
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope('openid email profile groups');
      await grant.save();
      return grant;
    },
  });
  const callback = provider.callback();
  const idp: TestIdp = {
    issuer,
    clientId,
    clientSecret,
    accounts,
    tamper: null,
    calls: { token: 0, endSession: 0 },
    sign(token, key = privateKey) {
      const data = `${b64(token.header)}.${b64(token.payload)}`;
      return `${data}.${crypto.sign('sha256', Buffer.from(data), key).toString('base64url')}`;
    },
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
  let lastNonce = '';
  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    if (url.pathname === '/auth') lastNonce = url.searchParams.get('nonce') ?? lastNonce;
    if (url.pathname === '/session/end') idp.calls.endSession++;
    if (url.pathname === '/token' && req.method === 'POST') {
      idp.calls.token++;
      if (idp.tamper) {
        req.resume();
        const now = Math.floor(Date.now() / 1000);
        const account = [...accounts.entries()][0];
        const genuine: IdToken = {
          header: { alg: 'RS256', typ: 'JWT', kid },
          payload: { iss: issuer, aud: clientId, sub: account?.[0] ?? 'someone', email: account?.[1].email, groups: account?.[1].groups ?? [], nonce: lastNonce, iat: now, exp: now + 300 },
        };
        const made = idp.tamper(genuine);
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ access_token: crypto.randomBytes(16).toString('hex'), token_type: 'Bearer', expires_in: 300, id_token: idp.sign(made.token, made.key) }));
        return;
      }
    }
    void callback(req, res);
  });
  return idp;
}
