/**
 * Environment names of the adapters admins migrate from (see docs/migrating.md). Each maps to
 * one of our settings; the adapter logs one line per name it maps, with the name to use now.
 */
export interface LegacyName {
  name: string
  /** Our setting; undefined when the legacy setting has no effect here. */
  target?: string
  from: 'jitsi-contrib/jitsi-oidc-adapter' | 'jitsi-openid'
  /** Turns the legacy value into ours; returning undefined drops it. */
  convert?: (value: string) => string | undefined
  /** Shown instead of a mapping when the name is dropped or changes meaning. */
  note?: string
  /** May also be read from `<name>_FILE`. */
  secret?: boolean
}

/** A legacy name found in the environment, as the start-up log and `check` report it. */
export interface LegacySetting {
  /** As set: the name, or `<name>_FILE`. */
  name: string
  from: LegacyName['from']
  /** Our setting it is read as; absent when it has no effect here. */
  target?: string
  /** The current name is set too and wins, so this one is read as nothing. */
  overridden?: boolean
  note?: string
}

/** What became of a legacy name, and what to do about it, in one line. */
export function describeLegacySetting(legacy: LegacySetting): string {
  const name = `${legacy.name} (from ${legacy.from})`
  if (legacy.overridden) {
    return `${name} is ignored: ${legacy.target} is set too and wins; remove ${legacy.name}`
  }
  if (legacy.target) return `${name} is read as ${legacy.target}; rename it when convenient`
  return `${name}: ${legacy.note}`
}

const isAddressLiteral = (value: string): string | undefined =>
  /^(\d{1,3}(\.\d{1,3}){3}|localhost|::1?|\[[0-9a-f:]+\])$/i.test(value) ? value : undefined

export const legacyNames: readonly LegacyName[] = [
  { name: 'JWT_ALG', target: 'JWT_ALGORITHM', from: 'jitsi-contrib/jitsi-oidc-adapter' },
  {
    name: 'JWT_HASH',
    from: 'jitsi-contrib/jitsi-oidc-adapter',
    note: 'the hash follows from JWT_ALGORITHM; this name is ignored',
  },
  {
    name: 'JWT_EXP_SECOND',
    target: 'JWT_LIFETIME_SECONDS',
    from: 'jitsi-contrib/jitsi-oidc-adapter',
  },
  {
    name: 'HOSTNAME',
    target: 'HOST',
    from: 'jitsi-contrib/jitsi-oidc-adapter',
    // Shells and container runtimes set HOSTNAME to the machine's name, which is no listen
    // address; only an address literal can have been meant for the old adapter.
    convert: isAddressLiteral,
    note: 'used only when it is an IP address or localhost (shells set HOSTNAME to the machine name)',
  },
  {
    name: 'AUTO_RETURN_TO_APP',
    target: 'JITSI_APP_AUTO_RETURN',
    from: 'jitsi-contrib/jitsi-oidc-adapter',
  },
  { name: 'JITSI_SECRET', target: 'JWT_APP_SECRET', from: 'jitsi-openid', secret: true },
  { name: 'JITSI_URL', target: 'JITSI_BASE_URL', from: 'jitsi-openid' },
  { name: 'JITSI_SUB', target: 'JWT_SUBJECT', from: 'jitsi-openid' },
  { name: 'ISSUER_URL', target: 'OIDC_ISSUER_URL', from: 'jitsi-openid' },
  { name: 'BASE_URL', target: 'ADAPTER_PUBLIC_URL', from: 'jitsi-openid' },
  { name: 'CLIENT_ID', target: 'OIDC_CLIENT_ID', from: 'jitsi-openid' },
  { name: 'CLIENT_SECRET', target: 'OIDC_CLIENT_SECRET', from: 'jitsi-openid', secret: true },
  { name: 'SCOPES', target: 'OIDC_SCOPES', from: 'jitsi-openid' },
  { name: 'ACR_VALUES', target: 'OIDC_ACR_VALUES', from: 'jitsi-openid' },
  {
    name: 'VERIFY_ACCESS_TOKEN_HASH',
    from: 'jitsi-openid',
    note: '`at_hash` is always checked when the ID token carries it; this name is ignored',
  },
  { name: 'SKIP_PREJOIN_SCREEN', target: 'JITSI_SKIP_PREJOIN', from: 'jitsi-openid' },
  { name: 'GROUP', target: 'ALLOWED_GROUPS', from: 'jitsi-openid' },
]
