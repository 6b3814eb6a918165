import type { PolicyConfig } from './types.js'

// The features Jitsi turns off when `context.features` is present but does not list them.
const knownFeatures = ['recording', 'livestreaming', 'transcription', 'outbound-call']

/**
 * What the admin must know at start-up for these rules to do what they say. `scopes` is
 * OIDC_SCOPES as configured, `scopesName` the name it was set under (a legacy name or an INI
 * key); without `scopes` the scope check is skipped.
 */
export function buildPolicyWarnings(
  policy: PolicyConfig,
  options: { scopes?: readonly string[]; scopesName?: string } = {},
): string[] {
  const scopesName = options.scopesName ?? 'OIDC_SCOPES'
  const warnings: string[] = []
  const hasRoomModerators = policy.rooms.some((rule) => rule.moderators !== undefined)
  const allMatchers = [
    ...policy.allow,
    ...policy.moderators,
    ...policy.rooms.flatMap((rule) => [...rule.hosts, ...(rule.moderators ?? [])]),
    ...policy.features.flatMap((rule) => rule.grantedTo),
  ]

  if (policy.moderators.length > 0 || hasRoomModerators) {
    warnings.push(
      'MODERATOR_* or room moderator rules are set, but Jicofo and Prosody make every token user owner unless configured: enable the Prosody module "token_affiliation" on the MUC component, set wait_for_host_disable_auto_owners = true, and in jicofo.conf set jicofo.conference.enable-auto-owner = false and jicofo.authentication.enabled = false (docker: XMPP_MUC_MODULES=token_affiliation, WAIT_FOR_HOST_DISABLE_AUTO_OWNERS=1, ENABLE_AUTO_OWNER=0, JICOFO_ENABLE_AUTH=0); see docs/policy.md',
    )
  }
  if (policy.claims.preset === 'entra' && allMatchers.some((matcher) => matcher.kind === 'group')) {
    warnings.push(
      'group rules with CLAIM_PRESET=entra: Entra leaves the group list out for users in many groups (overage), and those users then fail every group rule; assign app roles to the groups and use role rules, or limit the token to "groups assigned to the application"',
    )
  }
  // Entra and Google put groups in the token by app registration or not at all, not by scope.
  const groupsByScope = policy.claims.preset !== 'entra' && policy.claims.preset !== 'google'
  if (
    groupsByScope &&
    options.scopes !== undefined &&
    !options.scopes.includes('groups') &&
    allMatchers.some((matcher) => matcher.kind === 'group')
  ) {
    warnings.push(
      `group rules are set, but ${scopesName} (${options.scopes.join(' ')}) does not include "groups": many providers (Keycloak with a group mapper on that scope, Authentik, oidc-provider, ...) send the groups claim only for that scope or a mapper, and without it every group rule fails; add "groups" to ${scopesName} or make sure the provider always sends the claim`,
    )
  }
  const unlisted = knownFeatures.filter(
    (name) => !policy.features.some((rule) => rule.feature === name),
  )
  if (policy.features.length > 0 && unlisted.length > 0) {
    warnings.push(
      `FEATURES is set, so the token lists features and Jitsi turns off the ones it does not list: ${unlisted.join(', ')}; add "<feature> = moderator" for those that should follow moderator rights`,
    )
  }
  if (policy.securityBypass === 'everyone') {
    warnings.push('SECURITY_BYPASS=everyone: every allowed user skips room passwords and the lobby')
  }
  if (policy.claims.gravatar) {
    warnings.push(
      "AVATAR_GRAVATAR=true: browsers in the meeting fetch avatars from gravatar.com, which learns a hash of each host's email",
    )
  }
  return warnings
}
