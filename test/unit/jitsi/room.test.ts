import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  buildBackendSafeRoomName,
  validateRoomName,
  validateTenant,
} from '../../../src/jitsi/room.js'

describe('buildBackendSafeRoomName', () => {
  const table: Array<[description: string, room: string, safe: string]> = [
    ['lower-cases ASCII', 'MyRoom', 'myroom'],
    ['encodes a composed accent', 'Café', 'caf%c3%a9'],
    ['keeps an already encoded accent', 'Caf%C3%A9', 'caf%c3%a9'],
    ['composes a decomposed accent (e + U+0301)', 'Cafe\u0301', 'caf%c3%a9'],
    ['keeps an encoded space', 'My%20Room', 'my%20room'],
    ['keeps ß', 'Straße', 'stra%c3%9fe'],
    ['folds fullwidth letters', 'Ｍｅｅｔ', 'meet'],
    ['lower-cases a Turkish dotted capital I to i + U+0307', 'İstanbul', 'i%cc%87stanbul'],
    ['encodes a lone percent sign', '100%', '100%25'],
    ['keeps text with an invalid escape as it is', '%zz', '%25zz'],
    ['keeps a truncated UTF-8 escape as it is', '%E0%A4%A', '%25e0%25a4%25a'],
    ['drops quotes and parentheses', "room'with(parens)", 'roomwithparens'],
    ['lower-cases the hex of an encoded slash', 'x%2Fy', 'x%2fy'],
    ['encodes a Swedish room', 'Räksmörgås', 'r%c3%a4ksm%c3%b6rg%c3%a5s'],
    ['encodes an emoji as four UTF-8 bytes', 'party🎉', 'party%f0%9f%8e%89'],
    ['drops whitespace', 'Daily Stand\tup', 'dailystandup'],
    ['drops every character Jitsi drops', 'a:?#[]@!$&\'()*+,;=></"b', 'ab'],
    ['drops a lone asterisk to nothing', '*', ''],
  ]

  for (const [description, room, safe] of table) {
    it(`${description}: ${JSON.stringify(room)} → ${JSON.stringify(safe)}`, () => {
      assert.equal(buildBackendSafeRoomName(room), safe)
    })
  }

  it('refuses a room with an unpaired surrogate', () => {
    assert.throws(() => buildBackendSafeRoomName('a\ud800b'), { code: 'ERR_JITSI_ROOM_INVALID' })
  })

  it("refuses a room whose safe name is longer than XMPP's 1023 bytes for a room", () => {
    // 113 CJK characters encode to 1017 bytes (%xx%xx%xx each), 114 to 1026.
    assert.equal(buildBackendSafeRoomName('会'.repeat(113)).length, 1017)
    assert.throws(() => buildBackendSafeRoomName('会'.repeat(114)), {
      code: 'ERR_JITSI_ROOM_INVALID',
    })
  })
})

describe('validateRoomName', () => {
  const accepted: Array<[room: string, returned: string]> = [
    ['MyRoom', 'MyRoom'],
    ['Caf%C3%A9', 'Caf%C3%A9'],
    ['Räksmörgås', 'Räksmörgås'],
    ['Daily%20Standup', 'Daily%20Standup'],
    ["room'with(parens)", 'roomwithparens'],
    ['100%', '100%'],
    ['a..b', 'a..b'],
    ['x'.repeat(256), 'x'.repeat(256)],
    // The web app's percent-encoded form counts as the characters it names (100, not 900).
    [encodeURIComponent('漢'.repeat(100)), encodeURIComponent('漢'.repeat(100))],
  ]
  for (const [room, returned] of accepted) {
    it(`accepts ${JSON.stringify(room.slice(0, 40))} and returns ${JSON.stringify(returned.slice(0, 40))}`, () => {
      assert.equal(validateRoomName(room), returned)
    })
  }

  const refused: Array<[room: string, code: string]> = [
    ['', 'ERR_JITSI_ROOM_MISSING'],
    ['   ', 'ERR_JITSI_ROOM_MISSING'],
    ['*', 'ERR_JITSI_ROOM_INVALID'],
    ['x'.repeat(257), 'ERR_JITSI_ROOM_INVALID'],
    ['%78'.repeat(257), 'ERR_JITSI_ROOM_INVALID'],
    ['evil.example/path', 'ERR_JITSI_ROOM_INVALID'],
    ['\\evil.example', 'ERR_JITSI_ROOM_INVALID'],
    ['evil.example@', 'ERR_JITSI_ROOM_INVALID'],
    ['https:', 'ERR_JITSI_ROOM_INVALID'],
    ['..', 'ERR_JITSI_ROOM_INVALID'],
    ['.', 'ERR_JITSI_ROOM_INVALID'],
    ['%2e%2E', 'ERR_JITSI_ROOM_INVALID'],
    ['.%2e', 'ERR_JITSI_ROOM_INVALID'],
    ['a%2Fb', 'ERR_JITSI_ROOM_INVALID'],
    ['a%5cb', 'ERR_JITSI_ROOM_INVALID'],
    ['room\r\nSet-Cookie:x', 'ERR_JITSI_ROOM_INVALID'],
    ['room%0d%0a', 'ERR_JITSI_ROOM_INVALID'],
    ['room\u0000', 'ERR_JITSI_ROOM_INVALID'],
    ['room%C2%85', 'ERR_JITSI_ROOM_INVALID'],
    ['()!', 'ERR_JITSI_ROOM_INVALID'],
    ['a\udc00', 'ERR_JITSI_ROOM_INVALID'],
  ]
  for (const [room, code] of refused) {
    it(`refuses ${JSON.stringify(room.slice(0, 40))} with ${code}`, () => {
      assert.throws(() => validateRoomName(room), { code })
    })
  }
})

describe('validateTenant', () => {
  for (const tenant of ['Team', 'acme', 'my-team_2', 'Caf%C3%A9', 'Équipe', 't'.repeat(64)]) {
    it(`accepts the tenant ${JSON.stringify(tenant.slice(0, 20))} with its case kept`, () => {
      assert.equal(validateTenant(tenant), tenant)
    })
  }

  const refused = [
    '',
    'team.example',
    'team%2Eexample',
    'a/b',
    'a%2Fb',
    'a\\b',
    'evil.example@',
    'a@b',
    'https:',
    '*',
    '%2A',
    '%E0%A4%A',
    '%zz',
    'a b',
    'team\n',
    't'.repeat(65),
  ]
  for (const tenant of refused) {
    it(`refuses the tenant ${JSON.stringify(tenant.slice(0, 20))}`, () => {
      assert.throws(() => validateTenant(tenant), { code: 'ERR_JITSI_TENANT_INVALID' })
    })
  }
})
