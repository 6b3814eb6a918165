import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import { RateLimiter } from '../../src/http/rate-limit.js'

describe('the rate limiter', () => {
  it('never remembers more clients than configured, forgetting the oldest first', () => {
    const limiter = new RateLimiter({
      perWindow: 1,
      windowSeconds: 60,
      maxClients: 100,
      now: () => 0,
    })
    for (let n = 0; n < 10_000; n++) limiter.take(`198.51.100.${n}`)
    assert.equal(limiter.size, 100)
    assert.equal(limiter.take('198.51.100.9999'), 60)
    assert.equal(limiter.take('198.51.100.0'), 0)
  })

  it('forgets windows that have ended', () => {
    let nowMs = 0
    const limiter = new RateLimiter({
      perWindow: 2,
      windowSeconds: 60,
      maxClients: 100,
      now: () => nowMs,
    })
    for (let n = 0; n < 50; n++) limiter.take(`a${n}`)
    nowMs = 30_000
    limiter.take('late')
    nowMs = 60_000
    limiter.take('later')
    assert.equal(limiter.size, 2)
  })

  it('counts a fixed window: the limit, then the seconds left, then a fresh window', () => {
    let nowMs = 1_000
    const limiter = new RateLimiter({
      perWindow: 2,
      windowSeconds: 60,
      maxClients: 100,
      now: () => nowMs,
    })
    assert.deepEqual([limiter.take('c'), limiter.take('c'), limiter.take('c')], [0, 0, 60])
    nowMs += 59_500
    assert.equal(limiter.take('c'), 1)
    nowMs += 500
    assert.equal(limiter.take('c'), 0)
  })
})
