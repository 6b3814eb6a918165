import { parseClaimPath } from './claims.js'
import type { ClaimMapping, ClaimPath, PresetName } from './types.js'

interface PresetPaths {
  userId: string
  email: string
  emailDomain?: string
  avatar: string
  groups: readonly string[]
  roles: readonly string[]
  groupPaths: boolean
}

const generic: PresetPaths = {
  userId: 'sub',
  email: 'email',
  avatar: 'picture',
  groups: ['groups'],
  roles: ['roles'],
  groupPaths: false,
}

/** Where each provider puts things by default; any `CLAIM_*` setting replaces one entry. */
export const presets: Readonly<Record<PresetName, PresetPaths>> = {
  generic,
  keycloak: {
    ...generic,
    roles: ['realm_access.roles', 'resource_access.{client_id}.roles'],
    groupPaths: true,
  },
  // `oid` is the user's object id in the tenant; Entra's `sub` differs per application.
  // `preferred_username` is the UPN: it need not be a mailbox and Microsoft warns against
  // authorizing on it, so it is never used as the email.
  entra: { ...generic, userId: 'oid' },
  // `hd` is set only for Google Workspace accounts of that domain; a consumer account can carry
  // a verified address at any domain, so domain rules read `hd` alone.
  google: { ...generic, emailDomain: 'hd' },
  authentik: generic,
  zitadel: { ...generic, roles: ['urn:zitadel:iam:org:project:roles'] },
}

/** The admin's `CLAIM_*` settings, already parsed; each replaces the preset's entry. */
export interface ClaimOverrides {
  userId?: ClaimPath
  name?: ClaimPath
  email?: ClaimPath
  emailDomain?: ClaimPath
  avatar?: ClaimPath
  groups?: readonly ClaimPath[]
  roles?: readonly ClaimPath[]
}

/** Builds the claim mapping of a preset with the admin's overrides applied. */
export function buildClaimMapping(
  preset: PresetName,
  overrides: ClaimOverrides = {},
  gravatar = false,
): ClaimMapping {
  const paths = presets[preset]
  const emailDomain =
    overrides.emailDomain ??
    (paths.emailDomain === undefined ? undefined : parseClaimPath(paths.emailDomain))

  return {
    preset,
    userId: overrides.userId ?? parseClaimPath(paths.userId),
    ...(overrides.name === undefined ? {} : { name: overrides.name }),
    email: overrides.email ?? parseClaimPath(paths.email),
    ...(emailDomain === undefined ? {} : { emailDomain }),
    avatar: overrides.avatar ?? parseClaimPath(paths.avatar),
    groups: overrides.groups ?? paths.groups.map(parseClaimPath),
    roles: overrides.roles ?? paths.roles.map(parseClaimPath),
    groupPaths: paths.groupPaths,
    gravatar,
  }
}
