// src/election/keys.ts: election names, and where each key of an election lives.
import {describe, expect, it} from 'vitest'
import {ElectionKeys, validateName} from '../../src/election/keys.js'
import {leaseHex} from '../../src/lease/leases.js'

describe('election names', () => {
  it.each(['nightly-report', 'a', 'A.b_c-9', 'x'.repeat(128)])('accepts %s', (name) => expect(() => validateName(name)).not.toThrow())
  it.each(['', 'a/b', 'x'.repeat(129), 'has space', 'colon:name', 'ünï'])('rejects %j', (name) => {
    expect(() => validateName(name)).toThrow(/1-128 characters of A-Z a-z 0-9 \. _ -/)
  })
})

describe('key layout', () => {
  const keys = new ElectionKeys('elect/', 'nightly')
  it('names candidates like Go concurrency.Election: prefix, name, lease in lowercase hex', () => {
    expect(keys.candidate('7587869232045522443')).toBe('elect/nightly/694d86dd42307e0b')
    expect(leaseHex('255')).toBe('ff')
  })
  it('keeps everything else outside the candidate prefix, where no other election can reach', () => {
    expect([keys.running(), keys.running(undefined, 1), keys.running('rotate'), keys.running('rotate', 2)].map((marker) => keys.jobOfRunning(marker))).toEqual([
      undefined,
      undefined,
      'rotate',
      'rotate',
    ])
    for (const key of [keys.resignRequest('255'), keys.running(), keys.running('rotate'), keys.onceMarker('123'), keys.onceMarker('123', 'rotate')]) {
      expect(key.startsWith(keys.candidates)).toBe(false)
      expect(key.startsWith('elect/nightly:')).toBe(true)
    }
  })
  it("gives each job its own running marker and --once-per slots, apart from the election's own", () => {
    const markers = [keys.running(), keys.running('a'), keys.running('b'), keys.onceMarker('60000/1'), keys.onceMarker('60000/1', 'a')]
    expect(new Set(markers).size).toBe(markers.length)
    expect(keys.running('a').startsWith(keys.runningJobs)).toBe(true)
    // A job named like a period can't reach the election's own slot markers.
    expect(keys.onceMarker('1', '60000')).not.toBe(keys.onceMarker('60000/1'))
  })
  it('allows an empty prefix', () => {
    expect(new ElectionKeys('', 'n').candidate('16')).toBe('n/10')
  })
})

describe("elect's own key space, which put, del and txn refuse", () => {
  const keys = new ElectionKeys('elect/', 'nightly')
  it('holds every key of every election under the prefix: candidates, markers, records, limits', () => {
    const ours = [keys.candidate('255'), keys.running('rotate', 2), keys.resignRequest('255'), keys.holderLimit(3, '255'), 'elect/other:runs/x']
    expect(ours.filter((key) => !ElectionKeys.isElectionKey('elect/', key))).toEqual([])
  })
  it("holds every key of a job's own election, whatever its prefix", () => {
    const candidate = new ElectionKeys('custom-', 'nightly').candidate('255')
    expect(['custom-nightly/ff', 'custom-nightly:running', 'custom-nightly/other'].filter((key) => !ElectionKeys.isKeyOfElectionOf(candidate, key))).toEqual([])
    expect(['custom-nightly', 'custom-nightlyx:running', 'reports/nightly'].filter((key) => ElectionKeys.isKeyOfElectionOf(candidate, key))).toEqual([])
  })
  it("leaves a job's own data alone, under the prefix or not", () => {
    const theirs = ['reports/nightly', 'elect/', 'elect/nightly', 'elect/has space/x', 'electorate/nightly/x']
    expect(theirs.filter((key) => ElectionKeys.isElectionKey('elect/', key))).toEqual([])
  })
})
