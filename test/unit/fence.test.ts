// src/lease/fence.ts: the arithmetic every holder's safety rests on, with the numbers written out.
import {EventEmitter} from 'node:events'
import {describe, expect, it} from 'vitest'
import {
  attachedJobsEndWithinMs,
  fenceLeadMs,
  jobDeadline,
  ttlExceedsFenceLead,
  renewalIntervalMs,
  SAFETY_MARGIN_MS,
  validityAfter,
} from '../../src/lease/fence.js'

describe('the fence', () => {
  it('keeps a safety margin of one second', () => {
    expect(SAFETY_MARGIN_MS).toBe(1000)
  })

  it("leads a lease's expiry by the kill grace and the safety margin", () => {
    expect(fenceLeadMs(3000)).toBe(4000)
    expect(fenceLeadMs(500)).toBe(1500)
    expect(fenceLeadMs()).toBe(1000)
  })

  it('leaves room to hold a lease only when the TTL exceeds the fence lead', () => {
    expect(ttlExceedsFenceLead(4001, 3000)).toBe(true)
    expect(ttlExceedsFenceLead(4000, 3000)).toBe(false)
    expect(ttlExceedsFenceLead(1001)).toBe(true)
    expect(ttlExceedsFenceLead(1000)).toBe(false)
  })

  it('stops a job by the earliest validity of the leases it relies on, less the fence lead', () => {
    const lease = (validUntil: number) => Object.assign(new EventEmitter(), {validUntil})
    expect(jobDeadline([lease(10_000), lease(8000)], 1000)).toBe(6000)
    expect(jobDeadline([lease(10_000)], 3000)).toBe(6000)
  })

  it("gives a campaign's attached jobs their fence lead and a second to report", () => {
    expect(attachedJobsEndWithinMs(3000)).toBe(5000)
    expect(attachedJobsEndWithinMs(0)).toBe(2000)
  })
})

describe("a session's renewals", () => {
  it('come three times in the window between a renewal and the fence, at most every 100 ms', () => {
    // The defaults: a 10 s lease, a 3 s grace: a 6 s window, renewed every 2 s.
    expect(renewalIntervalMs(10_000, 4000)).toBe(2000)
    expect(renewalIntervalMs(5000, 1500)).toBeCloseTo(1166.667, 3)
    expect(renewalIntervalMs(1200, 1100)).toBe(100)
  })

  it('count a lease valid until the send of the acknowledged renewal plus its TTL, never less than before', () => {
    expect(validityAfter(15_000, 6000, 10_000)).toBe(16_000)
    // A late answer to an older renewal takes nothing back.
    expect(validityAfter(17_000, 6000, 10_000)).toBe(17_000)
    // The TTL the server granted, not the one asked for: a lease shortened on the server is valid for less.
    expect(validityAfter(0, 6000, 4000)).toBe(10_000)
  })
})
