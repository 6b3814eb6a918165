import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import fc from 'fast-check'

import { isAppError } from '../../../src/errors.js'
import { parseLoginRequest } from '../../../src/jitsi/login-request.js'
import { buildReturnTarget } from '../../../src/jitsi/return.js'
import { buildBackendSafeRoomName } from '../../../src/jitsi/room.js'
import {
  assertProsodyAccepts,
  buildJitsiClaims,
  signJitsiToken,
  type JitsiTokenSettings,
} from '../../../src/jitsi/token.js'

const settings: JitsiTokenSettings = {
  secret: new TextEncoder().encode('property-test-secret-0123456789'),
  algorithm: 'HS256',
  issuer: 'jitsi_app',
  audience: 'jitsi',
  subject: 'meet.example.com',
  lifetimeSeconds: 10800,
  notBeforeSkewSeconds: 60,
  roomScope: 'room',
}
const jitsiBaseUrl = new URL('https://meet.example.com/')
const nowSeconds = 1_800_000_000

/** Room text as apps send it: typed Unicode, percent-escapes (valid or not), punctuation. */
const roomText = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom(
      'a',
      'Z',
      '%',
      '2',
      '7',
      'C',
      '3',
      'A',
      '9',
      "'",
      '(',
      '!',
      '*',
      ' ',
      'ß',
      'İ',
      'F',
      '\uFF0A',
      '\uFE61',
      '\uFF0F',
      '.',
      '-',
    ),
    minLength: 1,
    maxLength: 30,
  }),
)
const tenantText = fc.option(fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/), { nil: undefined })

/**
 * Every login request the parser accepts must come out as a token our own Prosody check
 * accepts and a return URL on the Jitsi origin: a request we take in and then refuse to finish
 * is a 500 for the user.
 */
describe('the pure login pipeline, for any room the parser accepts', () => {
  it('mints a token that passes the Prosody check and returns to the Jitsi origin', async () => {
    let accepted = 0
    await fc.assert(
      fc.asyncProperty(
        roomText,
        tenantText,
        fc.constantFrom('state', 'room', 'roomname'),
        async (room, tenant, form) => {
          const query =
            form === 'state'
              ? { state: JSON.stringify({ room, ...(tenant ? { tenant } : {}) }) }
              : { [form]: room, ...(tenant ? { tenant } : {}) }
          let request
          try {
            request = parseLoginRequest(query)
          } catch (error) {
            assert.ok(isAppError(error) && error.status === 400, `parser threw ${String(error)}`)
            return
          }
          accepted++
          // K21: no accepted request names the wildcard room or a room with a path in it.
          assert.ok(!/\*|%2f|%5c/i.test(request.roomSafe), `roomSafe ${request.roomSafe}`)

          const claims = buildJitsiClaims({
            request,
            user: { id: 'u1', moderator: true },
            settings,
            nowSeconds,
          })
          const token = await signJitsiToken(claims, settings)
          assertProsodyAccepts(token, {
            settings,
            roomSafe: request.roomSafe,
            ...(request.tenant ? { tenant: request.tenant } : {}),
            nowSeconds,
          })
          const target = buildReturnTarget({
            jitsiBaseUrl,
            request,
            token,
            delivery: 'hash',
            skipPrejoin: true,
            legacyPrejoinFlag: false,
          })
          const returned = new URL(target.url)
          assert.equal(returned.origin, jitsiBaseUrl.origin)
          // Jitsi computes the room from the path it is sent to: it must be the token's room.
          const segment = returned.pathname.split('/').pop()!
          assert.equal(
            buildBackendSafeRoomName(segment),
            request.roomSafe,
            `path ${returned.pathname}`,
          )
        },
      ),
      { numRuns: 5000 },
    )
    assert.ok(accepted > 1000, `only ${accepted} generated requests were accepted`)
  })
})
