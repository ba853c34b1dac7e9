// The SSO test peer: a real OpenID provider (npm `oidc-provider`, pinned in xtask/peers) on
// loopback. One public native client (PKCE S256 required, any loopback port per RFC 8252),
// a second client for wrong-audience cases, refresh tokens, revocation (RFC 7009),
// introspection (RFC 7662), the device flow (RFC 8628) and a `groups` claim in the ID token.
// Its dev interactions serve login and consent forms that accept any login name; the account
// id is the login name, so a test chooses who logs in.
//
// HTTPS on loopback with a test certificate: OAuth clients refuse plain-HTTP revocation
// endpoints (RFC 7009 requires TLS), so the peer speaks TLS like a real IdP.
//
// Usage: node oidc-provider.mjs PORT CERT.pem KEY.pem   (issuer https://127.0.0.1:PORT)
import { readFileSync } from 'node:fs';
import https from 'node:https';
import Provider from 'oidc-provider';

const [port, certFile, keyFile] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
const issuer = `https://127.0.0.1:${port}`;

const client = (client_id) => ({
  client_id,
  application_type: 'native',
  token_endpoint_auth_method: 'none',
  redirect_uris: ['http://127.0.0.1/callback'],
  grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
  response_types: ['code'],
});

// Stand-ins for the OAuth apps `login github` and `login atlassian` use: a public GitHub
// OAuth app with the device flow, and a confidential Atlassian 3LO app (client secret in the
// token request body, as Atlassian's token endpoint takes it).
const githubApp = {
  client_id: 'github-oauth-app',
  application_type: 'native',
  token_endpoint_auth_method: 'none',
  redirect_uris: [],
  response_types: [],
  grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
};
const atlassianApp = {
  client_id: 'atlassian-3lo-app',
  client_secret: 'atlassian-3lo-secret',
  application_type: 'native',
  token_endpoint_auth_method: 'client_secret_post',
  redirect_uris: ['http://127.0.0.1/callback'],
  response_types: ['code'],
  grant_types: ['authorization_code', 'refresh_token'],
};

const provider = new Provider(issuer, {
  clients: [client('claude-enterprise'), client('other-app'), githubApp, atlassianApp],
  // GitHub's paths for the device flow and the token endpoint, so that `login github` runs
  // against this peer exactly as against github.com (`/login/device/code`,
  // `/login/oauth/access_token`, the user enters the code at `/login/device`). The SSO client
  // finds every endpoint through discovery, whatever its path.
  routes: {
    device_authorization: '/login/device/code',
    token: '/login/oauth/access_token',
    code_verification: '/login/device',
  },
  findAccount: (ctx, sub) => ({
    accountId: sub,
    claims: () => ({ sub, email: `${sub}@example.test`, groups: ['engineering', 'mcp-admins'] }),
  }),
  claims: { openid: ['sub'], email: ['email'], groups: ['groups'] },
  scopes: ['openid', 'offline_access', 'email', 'groups', 'repo', 'read:org', 'read:jira-work', 'write:jira-work', 'read:confluence-content.all', 'write:confluence-content'],
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
  },
  issueRefreshToken: async (ctx, c) => c.grantTypeAllowed('refresh_token'),
  // Every refresh spends the refresh token and issues a new one, as Atlassian's rotating
  // refresh tokens do.
  rotateRefreshToken: () => true,
  cookies: { keys: ['test-only-cookie-key'] },
  ttl: { AccessToken: 600, IdToken: 600, RefreshToken: 86400, DeviceCode: 600 },
});
provider.proxy = false;
https
  .createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, provider.callback())
  .listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
