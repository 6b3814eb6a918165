import { defineSettings } from '../schema.js'

/** How the adapter finds and talks to the identity provider. */
export const oidcSettings = defineSettings([
  {
    env: 'OIDC_ISSUER_URL',
    ini: ['oauth', 'issuer'],
    type: 'url',
    group: 'oidc',
    description:
      'Issuer of the identity provider; discovery reads `<issuer>/.well-known/openid-configuration`. A trailing slash is tolerated; the ID token issuer check stays exact.',
  },
  {
    env: 'OIDC_DISCOVERY_URL',
    ini: ['urls', 'oidc_discovery'],
    type: 'url',
    group: 'oidc',
    description:
      'Full discovery document URL, for providers whose document is not under the issuer. When set, the static endpoint settings are ignored.',
  },
  {
    env: 'OIDC_INTERNAL_BASE_URL',
    ini: ['oauth', 'internal_base_url'],
    type: 'url',
    group: 'oidc',
    description:
      'Base URL the adapter uses to reach the provider server-to-server (e.g. `http://keycloak:8080` inside a cluster). Browser redirects and issuer checks keep the public URLs.',
  },
  {
    env: 'OIDC_CA_FILE',
    ini: ['oauth', 'ca_file'],
    type: 'string',
    group: 'oidc',
    description:
      "PEM file of extra certificate authorities trusted for the provider's TLS certificate (a private CA), on top of Node's built-in list and any `NODE_EXTRA_CA_CERTS` bundle. Verification cannot be turned off.",
  },
  {
    env: 'OIDC_CLIENT_ID',
    ini: ['oauth', 'client_id'],
    type: 'string',
    group: 'oidc',
    description: 'Client ID registered at the provider.',
  },
  {
    env: 'OIDC_CLIENT_SECRET',
    ini: ['oauth', 'client_secret'],
    type: 'string',
    group: 'oidc',
    secret: true,
    description: 'Client secret. Leave unset for a public client (PKCE only).',
  },
  {
    env: 'OIDC_CLIENT_AUTH_METHOD',
    ini: ['oauth', 'client_auth_method'],
    type: 'enum',
    group: 'oidc',
    values: ['auto', 'client_secret_basic', 'client_secret_post', 'none'],
    default: 'auto',
    description:
      '`auto` uses `none` without a secret, else `client_secret_basic` unless the provider advertises only `client_secret_post`.',
  },
  {
    env: 'OIDC_SCOPES',
    ini: ['oauth', 'scope'],
    type: 'list',
    group: 'oidc',
    default: 'openid profile email',
    description:
      'Scopes to request, space- or comma-separated. Exactly these are sent; `openid` is required.',
  },
  {
    env: 'OIDC_AUTHORIZATION_ENDPOINT',
    ini: ['oauth', 'authorize_url'],
    type: 'url',
    group: 'oidc',
    description: 'Static mode (no discovery): the authorization endpoint.',
  },
  {
    env: 'OIDC_TOKEN_ENDPOINT',
    ini: ['oauth', 'access_token_url'],
    type: 'url',
    group: 'oidc',
    description: 'Static mode: the token endpoint.',
  },
  {
    env: 'OIDC_JWKS_URI',
    ini: ['oauth', 'jwks_uri'],
    type: 'url',
    group: 'oidc',
    description: "Static mode: the provider's JWKS (signing keys) URL.",
  },
  {
    env: 'OIDC_USERINFO_ENDPOINT',
    ini: ['oauth', 'userinfo_url'],
    type: 'url',
    group: 'oidc',
    description: 'Static mode: the userinfo endpoint (optional).',
  },
  {
    env: 'OIDC_END_SESSION_ENDPOINT',
    ini: ['oauth', 'end_session_url'],
    type: 'url',
    group: 'oidc',
    description: 'Static mode: the RP-initiated logout endpoint (optional).',
  },
  {
    env: 'OIDC_USERINFO',
    ini: ['oauth', 'userinfo'],
    type: 'enum',
    group: 'oidc',
    values: ['auto', 'always', 'never'],
    default: 'auto',
    description:
      '`auto` calls userinfo only when the ID token lacks a name or email; `always` merges it into every login (userinfo wins, `sub` must match).',
  },
  {
    env: 'OIDC_PROMPT',
    ini: ['oauth', 'prompt'],
    type: 'string',
    group: 'oidc',
    description:
      'OIDC `prompt` to send (e.g. `login`, `select_account`). Unset: none is sent, so a live provider session signs in without asking.',
  },
  {
    env: 'OIDC_SILENT_LOGIN',
    ini: ['oauth', 'silent_login'],
    type: 'boolean',
    group: 'oidc',
    default: 'false',
    description:
      'Try `prompt=none` first; a `login_required` answer falls back to an interactive login once.',
  },
  {
    env: 'OIDC_ACR_VALUES',
    ini: ['oauth', 'acr_values'],
    type: 'string',
    group: 'oidc',
    description: 'OIDC `acr_values` to request (e.g. a step-up level). Unset: none is sent.',
  },
  {
    env: 'OIDC_ALLOW_MISSING_ID_TOKEN',
    ini: ['oauth', 'allow_missing_id_token'],
    type: 'boolean',
    group: 'oidc',
    default: 'false',
    description:
      'Weakens security: accept a token response without an ID token and identify the user from userinfo alone (its `sub` is still required).',
  },
  {
    env: 'OIDC_ALLOW_HTTP',
    ini: ['oauth', 'allow_http'],
    type: 'boolean',
    group: 'oidc',
    default: 'false',
    description:
      'Weakens security: allow a plain-http provider. For local testing only; warned about at start-up.',
  },
  {
    env: 'OIDC_TIMEOUT_SECONDS',
    ini: ['oauth', 'timeout_seconds'],
    type: 'integer',
    group: 'oidc',
    default: '10',
    min: 1,
    max: 120,
    description: 'Upper bound for each call to the provider (discovery, token, JWKS, userinfo).',
  },
  {
    env: 'OIDC_CLOCK_TOLERANCE_SECONDS',
    ini: ['oauth', 'clock_tolerance_seconds'],
    type: 'integer',
    group: 'oidc',
    default: '60',
    min: 0,
    max: 600,
    description: 'Clock skew allowed when checking the ID token `exp`, `iat` and `nbf`.',
  },
])
