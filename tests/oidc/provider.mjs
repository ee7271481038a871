// A real OpenID Provider for the sign-in tests: the certified `oidc-provider` package (pinned in
// package.json), started with Node on 127.0.0.1 and the port given, with the clients given and a
// few fictional staff accounts whose claims map to each of our roles (and some that map to none).
//
//   node tests/oidc/provider.mjs '{"port": 5001, "clients": [{"client_id": ..., "client_secret": ...,
//                                  "redirect_uris": [...]}]}'
//
// It prints one line, `READY <issuer>`, when it listens, then serves until it is stopped. Its own
// development login and consent pages accept any password: the account is the login name typed.
import crypto from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

// Entra ID style: the role is in a "roles" list, the school and cluster in claims of their own.
const ACCOUNTS = {
  'sam.senco': { name: 'Sam Senco', roles: ['SEND.Senco'], school_urn: '990001' },
  'lee.lead': { name: 'Lee Lead', roles: ['SEND.ClusterLead'], cluster_id: 'northmere-coast' },
  'cass.council': { name: 'Cass Council', roles: ['SEND.Council', 'Staff.All'] },
  'fin.finance': { name: 'Fin Finance', roles: ['SEND.Finance'] },
  // A member of staff the council has given no role in this service.
  'nora.norole': { name: 'Nora Norole', roles: ['Staff.All'] },
  // A SENCo account the council forgot to give a school.
  'una.unplaced': { name: 'Una Unplaced', roles: ['SEND.Senco'] },
};

const config = JSON.parse(process.argv[2]);
const issuer = `http://127.0.0.1:${config.port}`;
const signingKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

const provider = new Provider(issuer, {
  clients: config.clients.map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  pkce: { required: () => true },
  jwks: { keys: [{ ...signingKey, kid: 'test-signing-key', use: 'sig', alg: 'RS256' }] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  claims: { openid: ['sub'], profile: ['name', 'roles', 'school_urn', 'cluster_id'] },
  // The scopes' claims go in the ID token itself, as Entra ID puts "roles" there.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
});

const server = http.createServer(provider.callback());
server.listen(config.port, '127.0.0.1', () => {
  console.log(`READY ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
