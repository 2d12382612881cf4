// src/jobs/running.ts: what the claim's transaction read decides whether a run may start.
import {describe, expect, it} from 'vitest'
import {Candidacy} from '../../src/election/candidacy.js'
import {ElectionKeys} from '../../src/election/keys.js'
import {claimReading} from '../../src/jobs/running.js'

describe("the claim's outcomes, from what its transaction read", () => {
  const keys = new ElectionKeys('elect/', 'claims')
  const self = {key: keys.candidate('123'), value: 'me', leaseId: '123', createRevision: 10}
  const candidacy = new Candidacy(undefined as never, keys, self)
  const kv = (key: string, lease: string, createRevision: number) => ({key: Buffer.from(key), lease, create_revision: String(createRevision)}) as never
  const own = kv(self.key, '123', 10)
  const ahead = kv(keys.candidate('99'), '99', 8)
  const marker = (lease: string) => kv(keys.running(), lease, 9)
  // What the claim read: the marker, the candidate's own key, the one ahead, then the pauses (each read's keys).
  const decide = (found: unknown[], wait = false, job?: string, by = candidacy) => {
    const reads = found.map((kv) => (Array.isArray(kv) ? kv : kv ? [kv] : [])) as never[][]
    // The election's pause, and with a job the job's too, are the last reads.
    const pauses = job === undefined ? 1 : 2
    return claimReading(by, '456', {wait, job}, 20, {markers: reads.slice(0, 1), standing: reads.slice(1, -pauses), pauses: reads.slice(-pauses)})
  }
  const paused = (job?: string) => kv(keys.pause(job), '0', 5)

  it("is lost once the candidate's key is gone or was made again", () => {
    expect(decide([undefined, undefined, undefined, undefined])).toEqual({revision: 20, outcome: 'lost'})
    expect(decide([undefined, kv(self.key, '123', 11), undefined, undefined])).toEqual({revision: 20, outcome: 'lost'})
  })

  it('waits for the candidate just ahead, whatever the marker says', () => {
    expect(decide([marker('1'), own, ahead, undefined])).toEqual({revision: 20, watch: [{key: keys.candidate('99')}]})
  })

  it("is claimed when the marker is already this run's (a claim whose answer was lost)", () => {
    expect(decide([marker('456'), own, undefined, undefined])).toEqual({revision: 20, outcome: {claimed: keys.running()}})
  })

  it('is busy while another run holds the marker, or waits for its slots with --wait', () => {
    expect(decide([marker('1'), own, undefined, undefined])).toEqual({revision: 20, outcome: 'busy'})
    expect(decide([marker('1'), own, undefined, undefined], true)).toEqual({revision: 20, watch: [keys.runningSlots()]})
  })

  it("is paused by the election's pause or the job's, waiting or not, ahead of a waiter's turn; lost goes first", () => {
    expect(decide([undefined, own, undefined, paused()])).toEqual({revision: 20, outcome: 'paused'})
    expect(decide([marker('1'), own, ahead, paused()], true)).toEqual({revision: 20, outcome: 'paused'})
    expect(decide([undefined, own, undefined, undefined, paused('j')], false, 'j')).toEqual({revision: 20, outcome: 'paused'})
    expect(decide([undefined, own, undefined, undefined, undefined], false, 'j')).toEqual({slot: 0})
    expect(decide([undefined, undefined, undefined, paused()])).toEqual({revision: 20, outcome: 'lost'})
  })

  it('says nothing stands in the way when this candidate leads and nobody runs the job', () => {
    expect(decide([undefined, own, undefined, undefined])).toEqual({slot: 0})
  })

  describe('with three holders', () => {
    const holder = new Candidacy(undefined as never, keys, self, 3)
    const older = [kv(keys.candidate('97'), '97', 6), kv(keys.candidate('98'), '98', 7), kv(keys.candidate('99'), '99', 8)]
    const slot = (n: number, lease: string) => kv(keys.running('j', n), lease, 9)

    it('waits while three are ahead, watching exactly those three; holds with two ahead', () => {
      expect(decide([[], own, older, undefined, undefined], false, 'j', holder)).toEqual({
        revision: 20,
        watch: older.map((candidate: {key: Buffer}) => ({key: candidate.key.toString()})),
      })
      expect(decide([[], own, older.slice(1), undefined, undefined], false, 'j', holder)).toEqual({slot: 0})
    })

    it('claims the lowest free slot, and is busy (or waits on every slot) when all three run', () => {
      expect(decide([[slot(0, '1'), slot(2, '2')], own, [], undefined, undefined], false, 'j', holder)).toEqual({slot: 1})
      const all = [slot(0, '1'), slot(1, '2'), slot(2, '3')]
      expect(decide([all, own, [], undefined, undefined], false, 'j', holder)).toEqual({revision: 20, outcome: 'busy'})
      expect(decide([all, own, [], undefined, undefined], true, 'j', holder)).toEqual({revision: 20, watch: [keys.runningSlots('j')]})
    })

    it('finds its own slot again (a claim whose answer was lost)', () => {
      expect(decide([[slot(0, '1'), slot(2, '456')], own, [], undefined, undefined], false, 'j', holder)).toEqual({
        revision: 20,
        outcome: {claimed: keys.running('j', 2)},
      })
    })
  })
})
