import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'

import { decideAccess } from '../../../src/policy/decide.js'
import { buildIdentity } from '../../../src/policy/identity.js'
import { loadPolicy } from './support.js'

// dist/test/unit/policy/ → the repository root
const docs = readFileSync(new URL('../../../../docs/policy.md', import.meta.url), 'utf8')
const examples = docs.slice(docs.indexOf('## 5. Examples')).split(/^### /m).slice(1)
const context = { issuer: 'https://idp.example', clientId: 'jitsi' }

function readBlock(example: string, language: 'env' | 'ini'): string {
  const block = new RegExp('```' + language + '\\n([\\s\\S]*?)```').exec(example)
  assert.ok(block, `no ${language} block`)
  return block[1]!
}

function readEnvLines(text: string): Record<string, string> {
  const lines = text.split('\n').filter((line) => line.includes('='))
  return Object.fromEntries(
    lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  )
}

describe('the examples in docs/policy.md', () => {
  it('has the three examples', () => {
    assert.equal(examples.length, 3)
  })

  for (const example of examples) {
    const title = example.slice(0, example.indexOf('\n'))

    it(`${title}: env and INI parse without problems to the same rules`, () => {
      const fromEnv = loadPolicy(readEnvLines(readBlock(example, 'env')))
      const fromIni = loadPolicy({}, readBlock(example, 'ini'))

      assert.deepEqual(fromEnv.problems, [])
      assert.deepEqual(fromIni.problems, [])
      assert.deepEqual(fromIni.policy, fromEnv.policy)
    })
  }

  const cases: Array<[number, Record<string, unknown>, string, boolean, boolean]> = [
    [0, { groups: ['/university/students'] }, 'maths', true, false],
    [0, { groups: ['/university/teachers'] }, 'maths', true, true],
    [0, { groups: ['/university/students'] }, 'staff-room', false, false],
    [0, { groups: ['/university/alumni'] }, 'maths', false, false],
    [1, { email: 'ana@example-labs.com', email_verified: true }, 'standup', true, true],
    [1, { email: 'ana@gmail.example', email_verified: true }, 'standup', false, false],
    [2, { groups: [] }, 'open', true, false],
    [2, { groups: ['authentik Admins'] }, 'open', true, true],
  ]

  for (const [index, claims, room, allowed, moderator] of cases) {
    it(`example ${index + 1} gives ${JSON.stringify(claims)} in "${room}": allowed ${allowed}, moderator ${moderator}`, () => {
      const { policy } = loadPolicy(readEnvLines(readBlock(examples[index]!, 'env')))
      const identity = buildIdentity({ sub: 'u1', ...claims }, policy.claims, context)
      const decision = decideAccess(identity, { roomSafe: room }, policy)

      assert.deepEqual(
        [decision.allowed, decision.moderator],
        [allowed, moderator],
        decision.reason,
      )
    })
  }
})
