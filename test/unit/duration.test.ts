// src/time/duration.ts: durations as flags take them and lines say them.
import {describe, expect, it} from 'vitest'
import {formatDuration, parseDuration} from '../../src/time/duration.js'

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['3', 3000],
    ['1.5s', 1500],
    ['0', 0],
    ['30d', 2_592_000_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms))

  it.each(['', 'ten', '5w', '-1s', '1 s', 's'])('rejects %j with a hint', (text) => {
    expect(() => parseDuration(text)).toThrow(/not a duration: use a number with ms, s, m, h or d/)
  })

  it('rejects a duration too long to count in milliseconds exactly', () => {
    expect(() => parseDuration('99999999999999999999d')).toThrow(/is longer than any duration elect can keep/)
  })

  it('formats back to the shortest unit', () => {
    expect([3000, 500, 120_000, 3_600_000, 1500].map(formatDuration)).toEqual(['3s', '500ms', '2m', '1h', '1500ms'])
  })
})
