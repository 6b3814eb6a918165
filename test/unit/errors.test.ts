import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'

import { AppError, errorCatalogue } from '../../src/errors.js'

describe('error catalogue', () => {
  it('is documented in docs/errors.md, code by code with its status', () => {
    const docs = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8')
    const documented = [...docs.matchAll(/^\| `(ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [
      m[1],
      Number(m[2]),
    ])
    const catalogue = Object.entries(errorCatalogue).map(([code, entry]) => [code, entry.status])
    assert.deepEqual(
      documented,
      catalogue,
      'docs/errors.md is out of date: run "npm run build && npm run docs:errors"',
    )
  })

  it('uses 5xx only for provider failures and our own faults', () => {
    const serverErrors = Object.entries(errorCatalogue)
      .filter(([, entry]) => entry.status >= 500)
      .map(([code]) => code)
      .sort()
    assert.deepEqual(serverErrors, [
      'ERR_CONFIG_INVALID',
      'ERR_INTERNAL',
      'ERR_JITSI_TOKEN_INVALID',
      'ERR_OIDC_CLIENT_REJECTED',
      'ERR_OIDC_ISSUER_MISMATCH',
      'ERR_OIDC_PROVIDER_BAD_RESPONSE',
      'ERR_OIDC_PROVIDER_TIMEOUT',
      'ERR_OIDC_PROVIDER_UNAVAILABLE',
    ])
  })

  it('keeps the detail for the log and shows users only the catalogue sentence', () => {
    const error = new AppError('ERR_OIDC_ID_TOKEN_INVALID', { detail: 'iat 3600s in the future' })
    assert.equal(error.message, 'iat 3600s in the future')
    assert.equal(error.userMessage, errorCatalogue.ERR_OIDC_ID_TOKEN_INVALID.message)
    assert.equal(error.status, 400)
    assert.equal(error.expose, true)
  })
})
