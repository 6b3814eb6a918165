import { defineSettings } from '../schema.js'

/** Where Jitsi lives and how the host is sent back to it. */
export const jitsiSettings = defineSettings([
  {
    env: 'JITSI_BASE_URL',
    ini: ['urls', 'jitsi_base'],
    type: 'url',
    group: 'jitsi',
    description:
      'Public URL of the Jitsi Meet site (e.g. `https://meet.example.com`). Every redirect after login stays on its origin.',
  },
  {
    env: 'ADAPTER_PUBLIC_URL',
    ini: ['urls', 'adapter_public_url'],
    type: 'url',
    group: 'jitsi',
    defaultText: 'the origin of `JITSI_BASE_URL`',
    description:
      'Public origin of the adapter (scheme, host and port, no path: its routes and cookies live under `/oidc/`); the callback registered at the provider is this plus `ADAPTER_CALLBACK_PATH`.',
  },
  {
    env: 'ADAPTER_CALLBACK_PATH',
    ini: ['urls', 'callback_path'],
    type: 'enum',
    group: 'jitsi',
    values: ['/oidc/redirect', '/oidc/tokenize'],
    default: '/oidc/redirect',
    description:
      "Callback path sent as `redirect_uri`: `/oidc/redirect` as the Python adapter registered, or `/oidc/tokenize` as jitsi-contrib/jitsi-oidc-adapter registered. When unset and that adapter's settings are in use (`JWT_ALG`, `JWT_EXP_SECOND`, `AUTO_RETURN_TO_APP`, or `HOSTNAME` as an address), the default is `/oidc/tokenize`. Both paths are always served.",
  },
  {
    env: 'JITSI_SKIP_PREJOIN',
    ini: ['urls', 'skip_prejoin'],
    type: 'boolean',
    group: 'jitsi',
    default: 'true',
    description:
      'Add `config.prejoinConfig.enabled=false` to the return URL so the host is not asked twice.',
  },
  {
    env: 'JITSI_LEGACY_PREJOIN_FLAG',
    ini: ['urls', 'legacy_prejoin_flag'],
    type: 'boolean',
    group: 'jitsi',
    default: 'false',
    description: 'Also add `config.prejoinPageEnabled=false`, for Jitsi releases before 2022.',
  },
  {
    env: 'JITSI_APP_AUTO_RETURN',
    ini: ['urls', 'app_auto_return'],
    type: 'boolean',
    group: 'jitsi',
    default: 'false',
    description:
      'On the mobile/desktop return page, open the app without a tap. Off by default: it breaks tabs on some Android browsers.',
  },
  {
    env: 'JITSI_CANCEL_RETURNS_TO_ROOM',
    ini: ['urls', 'cancel_returns_to_room'],
    type: 'boolean',
    group: 'jitsi',
    default: 'false',
    description:
      'When the user cancels at the provider, go straight back to the room as a guest instead of showing the "sign-in cancelled" page. App logins (iOS, Android, desktop) still get the page: its guest link opens the app, which a redirect cannot do without a tap.',
  },
])

/** The Jitsi JWT the adapter mints: what Prosody's token authentication checks. */
export const tokenSettings = defineSettings([
  {
    env: 'JWT_APP_ID',
    ini: ['jwt', 'app_id'],
    type: 'string',
    group: 'token',
    description:
      "Prosody's `app_id` (docker: `JWT_APP_ID`). The token's `iss` unless `JWT_ISSUER` is set.",
  },
  {
    env: 'JWT_APP_SECRET',
    ini: ['jwt', 'secret_key'],
    type: 'string',
    group: 'token',
    secret: true,
    description: "Prosody's `app_secret` (docker: `JWT_APP_SECRET`): the HMAC key of the token.",
  },
  {
    env: 'JWT_ALGORITHM',
    ini: ['jwt', 'algorithm'],
    type: 'enum',
    group: 'token',
    values: ['HS256', 'HS384', 'HS512'],
    default: 'HS256',
    description: "Must equal Prosody's `signature_algorithm` exactly (HS256 is Prosody's default).",
  },
  {
    env: 'JWT_ISSUER',
    ini: ['jwt', 'issuer'],
    type: 'string',
    group: 'token',
    defaultText: '`JWT_APP_ID`',
    description: "The token's `iss`; must be in Prosody's `asap_accepted_issuers`.",
  },
  {
    env: 'JWT_AUDIENCE',
    ini: ['jwt', 'audience'],
    type: 'string',
    group: 'token',
    default: 'jitsi',
    description: "The token's `aud`, one string; must match Prosody's `asap_accepted_audiences`.",
  },
  {
    env: 'JWT_SUBJECT',
    ini: ['jwt', 'subject'],
    type: 'string',
    group: 'token',
    defaultText: 'the host of `JITSI_BASE_URL`',
    description:
      "The token's `sub` for rooms without a tenant: the XMPP domain (docker: `meet.jitsi`), or `*`. Tenant rooms get the tenant with its ASCII letters lower-cased (as Prosody compares it).",
  },
  {
    env: 'JWT_LIFETIME_SECONDS',
    ini: ['jwt', 'lifetime_seconds'],
    type: 'integer',
    group: 'token',
    default: '10800',
    min: 60,
    max: 86400,
    description:
      'How long the token lets the host (re)connect. Prosody checks it only at connect, so a running meeting is not cut off.',
  },
  {
    env: 'JWT_NOT_BEFORE_SKEW_SECONDS',
    ini: ['jwt', 'not_before_skew_seconds'],
    type: 'integer',
    group: 'token',
    default: '60',
    min: 0,
    max: 600,
    description:
      '`nbf` is set this far in the past: Prosody allows no clock skew, so a server clock that runs behind would refuse a fresh token.',
  },
  {
    env: 'JWT_ROOM_SCOPE',
    ini: ['jwt', 'room_scope'],
    type: 'enum',
    group: 'token',
    values: ['room', 'any'],
    default: 'room',
    description:
      '`room`: the token opens only the requested room. `any`: `room: "*"`, valid in every room (what older adapters did).',
  },
  {
    env: 'JWT_DELIVERY',
    ini: ['jwt', 'delivery'],
    type: 'enum',
    group: 'token',
    values: ['hash', 'query'],
    default: 'hash',
    description:
      '`hash`: `#jwt="<token>"`, kept out of server logs (current Jitsi). `query`: `?jwt=<token>`, for Jitsi releases older than mid-2024.',
  },
])
