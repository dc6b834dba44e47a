import * as oidc from 'openid-client';
import { AppError } from '../../core/errors.ts';
import { issuerIsInsecure, parseIssuer } from '../../core/sso-settings.ts';

/**
 * The relying party's side of OpenID Connect (openid-client 6): discovery, the authorization
 * request (code flow, PKCE S256, state, nonce), the code exchange with every ID-token check
 * openid-client makes (signature against the issuer's JWKS, iss, aud, azp, exp, iat, nonce), the
 * UserInfo fallback for claims the ID token leaves out, and the end-session URL.
 */

export interface OidcClientSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
}

/** How long a discovered configuration is used before the document is fetched again. */
const DISCOVERY_TTL_MS = 10 * 60_000;
const cache = new Map<string, { config: oidc.Configuration; until: number }>();

/** The discovered configuration of an issuer for a client (cached per issuer, client and secret). */
export async function discover(s: OidcClientSettings): Promise<oidc.Configuration> {
  const key = JSON.stringify([s.issuer, s.clientId, s.clientSecret]);
  const hit = cache.get(key);
  if (hit && Date.now() < hit.until) return hit.config;
  const url = parseIssuer(s.issuer);
  try {
    const config = await oidc.discovery(url, s.clientId, s.clientSecret, oidc.ClientSecretBasic(s.clientSecret), {
      execute: issuerIsInsecure(url) ? [oidc.allowInsecureRequests] : [],
      timeout: 15,
    });
    // Check the ID token's signature against the issuer's JWKS too (openid-client skips it for a token from the token endpoint by default).
    oidc.enableNonRepudiationChecks(config);
    if (cache.size > 100) cache.clear();
    cache.set(key, { config, until: Date.now() + DISCOVERY_TTL_MS });
    return config;
  } catch (e) {
    throw new AppError('SSO_UNAVAILABLE', `The identity provider's discovery document at ${url.href.replace(/\/$/, '')}/.well-known/openid-configuration could not be used: ${describe(e)}`, { field: 'issuer', cause: e });
  }
}

/** Forgets cached configurations (a provider removed or re-added). */
export function forgetDiscovery(): void {
  cache.clear();
}

export interface AuthorizationRequest {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** The authorization URL to send the browser to, with the secrets the callback must check. */
export async function authorizationRequest(config: oidc.Configuration, redirectUri: string, groupsClaim: string): Promise<AuthorizationRequest> {
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  // The group claim is asked for as a scope when the provider lists one of that name (Keycloak, oidc-provider); others send it anyway.
  const supported = config.serverMetadata().scopes_supported ?? [];
  const scopes = ['openid', 'email', 'profile', ...(supported.includes(groupsClaim) ? [groupsClaim] : [])];
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: scopes.join(' '),
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { url, state, nonce, codeVerifier };
}

export interface SignedIn {
  subject: string;
  claims: Record<string, unknown>;
}

/**
 * Exchanges the code of the callback URL and validates the ID token; the claims of UserInfo are
 * added when the ID token lacks the group claim. Any failure is SSO_SIGN_IN_FAILED with the reason.
 */
export async function completeAuthorization(
  config: oidc.Configuration,
  callbackUrl: URL,
  checks: { state: string; nonce: string; codeVerifier: string },
  groupsClaim: string,
): Promise<SignedIn> {
  let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
  try {
    tokens = await oidc.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: checks.codeVerifier, expectedState: checks.state, expectedNonce: checks.nonce, idTokenExpected: true });
  } catch (e) {
    throw new AppError('SSO_SIGN_IN_FAILED', `The identity provider's answer was refused: ${describe(e)}`, { cause: e });
  }
  const claims = { ...(tokens.claims() as Record<string, unknown>) };
  const subject = String(claims.sub);
  if (claims[groupsClaim] === undefined && config.serverMetadata().userinfo_endpoint && tokens.access_token) {
    try {
      const info = await oidc.fetchUserInfo(config, tokens.access_token, subject);
      for (const [k, v] of Object.entries(info)) if (claims[k] === undefined) claims[k] = v;
    } catch (e) {
      throw new AppError('SSO_SIGN_IN_FAILED', `The identity provider's UserInfo answer was refused: ${describe(e)}`, { cause: e });
    }
  }
  return { subject, claims };
}

/** Where to send the browser to end the IdP's session too, or null when the provider offers no end_session_endpoint. */
export function endSessionUrl(config: oidc.Configuration, postLogoutRedirectUri: string): URL | null {
  if (!config.serverMetadata().end_session_endpoint) return null;
  return oidc.buildEndSessionUrl(config, { client_id: config.clientMetadata().client_id, post_logout_redirect_uri: postLogoutRedirectUri });
}

/** A short reason for a person: openid-client's message and code, never a token. */
function describe(e: unknown): string {
  const err = e as { message?: string; code?: string; cause?: { message?: string } };
  const msg = String(err?.message ?? e).slice(0, 300);
  return err?.code ? `${msg} (${err.code})` : msg;
}
