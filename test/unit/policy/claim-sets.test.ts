import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import { decideAccess } from '../../../src/policy/decide.js'
import { buildIdentity } from '../../../src/policy/identity.js'
import { claimSets } from './claim-sets.js'
import { buildTestPolicy } from './support.js'

const context = { issuer: 'https://idp.example', clientId: 'jitsi' }

describe('claim sets across the presets', () => {
  for (const set of claimSets) {
    it(set.behaviour, () => {
      const policy = buildTestPolicy(set.env)
      const identity = buildIdentity(set.claims, policy.claims, context)
      const decision = decideAccess(identity, set.room ?? { roomSafe: 'weekly' }, policy)

      assert.deepEqual(
        { id: identity.id, name: identity.name, email: identity.email, avatar: identity.avatar },
        { id: set.user.id, name: set.user.name, email: set.user.email, avatar: set.user.avatar },
      )
      if (set.groups) assert.deepEqual(identity.groups, set.groups)
      if (set.roles) assert.deepEqual(identity.roles, set.roles)
      if (set.groupsUnknown !== undefined) assert.equal(identity.groupsUnknown, set.groupsUnknown)
      assert.equal(decision.allowed, set.allowed, decision.reason)
      assert.equal(decision.moderator, set.moderator, decision.reason)
      if (set.reason) assert.match(decision.reason, new RegExp(escapeRegExp(set.reason)))
    })
  }

  it('covers at least 30 claim sets and every preset', () => {
    assert.ok(claimSets.length >= 30)
    const presets = new Set(claimSets.map((set) => set.env?.CLAIM_PRESET ?? 'generic'))
    assert.deepEqual([...presets].sort(), [
      'authentik',
      'entra',
      'generic',
      'google',
      'keycloak',
      'zitadel',
    ])
  })
})

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
