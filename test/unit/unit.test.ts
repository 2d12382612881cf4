import {EventEmitter} from 'node:events'
import {existsSync} from 'node:fs'
import protobuf from 'protobufjs'
import {describe, expect, it} from 'vitest'
import {runtimeDir} from '../../src/attach/runtime-dir.js'
import {formatDuration, parseDuration} from '../../src/time/duration.js'
import {ElectionKeys, validateName} from '../../src/election/keys.js'
import {leaseHex} from '../../src/lease/leases.js'
import {attachedJobsEndWithinMs, fenceLeadMs, jobDeadline, leavesRoom, SAFETY_MARGIN_MS} from '../../src/lease/fence.js'
import {failureOf} from '../../src/cli/errors.js'
import {Candidacy} from '../../src/election/election.js'
import {claimReading} from '../../src/jobs/running.js'
import {ElectError, UsageError} from '../../src/cli/exit-codes.js'
import {EtcdUnavailableError} from '../../src/etcd/connection.js'
import {etcdPackageDefinition, type PrebuiltType} from '../../src/etcd/services.js'
import {etcdDescriptor, prebuiltTypesSource} from '../build/bundle.js'
import {randomTrial, SCENARIOS} from '../tools/scenarios.js'

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

describe('runtime directory', () => {
  it('is $ELECT_RUNTIME_DIR, else chosen by user id alone, so that a service and a cron job agree', () => {
    expect(runtimeDir({ELECT_RUNTIME_DIR: '/srv/elect'})).toBe('/srv/elect')
    const uid = process.getuid!()
    const byUid = uid === 0 ? '/run/elect' : existsSync(`/run/user/${uid}`) ? `/run/user/${uid}/elect` : `/tmp/elect-${uid}`
    // A login shell's XDG_RUNTIME_DIR must not move it: cron has none.
    expect(runtimeDir({XDG_RUNTIME_DIR: '/run/user/0'})).toBe(byUid)
    expect(runtimeDir({})).toBe(byUid)
  })
})

describe('etcd messages', () => {
  it('are encoded and decoded by the code the build generated: none is generated at run time', () => {
    const descriptor = etcdDescriptor()
    // The build's generated code, evaluated as the bundle does: what this test checks.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const prebuilt: Record<string, PrebuiltType> = new Function(`return ${prebuiltTypesSource(descriptor)}`)()
    const txn = etcdPackageDefinition(descriptor, prebuilt)['etcdserverpb.KV'].Txn as Record<string, (value: never) => unknown>
    const generate = protobuf.util.codegen
    protobuf.util.codegen = (() => {
      throw new Error('protobufjs generated code at run time')
    }) as never
    try {
      const request = {
        compare: [{key: Buffer.from('k'), range_end: Buffer.from('l'), target: 'Create', result: 'Greater', create_revision: '41'}],
        success: [{request_put: {key: Buffer.from('k'), value: Buffer.from('v'), lease: '7587869232045522443'}}],
        failure: [{request_range: {key: Buffer.from('k'), limit: '1', sort_order: 'Descend'}}],
      }
      const decoded = txn.requestDeserialize(txn.requestSerialize(request as never) as never) as typeof request
      expect(decoded.compare[0]).toMatchObject(request.compare[0])
      expect(decoded.success[0].request_put).toMatchObject(request.success[0].request_put)
      expect(decoded.failure[0].request_range).toMatchObject(request.failure[0].request_range)
      const response = {header: {revision: '9007199254740993'}, succeeded: true, responses: [{response_put: {header: {revision: '42'}}}]}
      expect(txn.responseDeserialize(txn.responseSerialize(response as never) as never)).toMatchObject(response)
    } finally {
      protobuf.util.codegen = generate
    }
  })
})

describe('the fence', () => {
  it("leads a lease's expiry by the kill grace and the safety margin", () => {
    expect(fenceLeadMs(3000)).toBe(3000 + SAFETY_MARGIN_MS)
    expect(fenceLeadMs()).toBe(SAFETY_MARGIN_MS)
  })

  it('leaves room to hold a lease only when the TTL exceeds the fence lead', () => {
    expect(leavesRoom(4001, 3000)).toBe(true)
    expect(leavesRoom(4000, 3000)).toBe(false)
    expect(leavesRoom(1000)).toBe(false)
  })

  it('stops a job by the earliest validity of the leases it relies on, less the fence lead', () => {
    const lease = (validUntil: number) => Object.assign(new EventEmitter(), {validUntil})
    expect(jobDeadline([lease(10_000), lease(8000)], 1000)).toBe(8000 - 1000 - SAFETY_MARGIN_MS)
  })

  it("gives a campaign's attached jobs their fence lead and a second to report", () => {
    expect(attachedJobsEndWithinMs(3000)).toBe(3000 + SAFETY_MARGIN_MS + 1000)
  })
})

describe('errors become exit codes', () => {
  const connection = {endpoints: ['127.0.0.1:2379'], dialTimeoutMs: 2000, commandTimeoutMs: 5000}

  it('an ElectError says its own code, in its first line; a usage error in one line', () => {
    expect(failureOf(new ElectError('gone\nmore', 75))).toEqual({code: 75, message: 'gone', unexpected: false})
    expect(failureOf(new UsageError('bad\n  value'))).toEqual({code: 2, message: 'bad value', unexpected: false})
  })

  it('an oclif parse error keeps its code, in one line with where to read more', () => {
    const parse = Object.assign(new Error('Parsing --ttl\n\t"x" is not a duration\nSee more help with --help'), {oclif: {exit: 2}})
    expect(failureOf(parse, 'campaign')).toEqual({code: 2, message: '--ttl: "x" is not a duration\nSee: elect campaign --help', unexpected: false})
  })

  it('etcd that cannot be used is 69, but only for a command that connected', () => {
    const unusable = new EtcdUnavailableError('etcd is unreachable at 127.0.0.1:2379')
    expect(failureOf(unusable, 'who-leads', connection)).toMatchObject({code: 69, message: 'etcd is unreachable at 127.0.0.1:2379'})
    expect(failureOf(unusable, 'who-leads')).toMatchObject({code: 1, unexpected: true})
  })

  it('anything else is 1, unexpected, in its first line', () => {
    expect(failureOf(new Error('boom\nat somewhere'))).toEqual({code: 1, message: 'boom', unexpected: true})
  })
})

describe("the claim's outcomes, from what its transaction read", () => {
  const keys = new ElectionKeys('elect/', 'claims')
  const self = {key: keys.candidate('123'), value: 'me', leaseId: '123', createRevision: 10}
  const candidacy = new Candidacy(undefined as never, keys, self)
  const kv = (key: string, lease: string, createRevision: number) => ({key: Buffer.from(key), lease, create_revision: String(createRevision)}) as never
  const own = kv(self.key, '123', 10)
  const ahead = kv(keys.candidate('99'), '99', 8)
  const marker = (lease: string) => kv(keys.running(), lease, 9)
  // What the claim read: the marker, the candidate's own key, the one ahead, then the pauses (each read's keys).
  const decide = (found: unknown[], wait = false, job?: string, by = candidacy) =>
    claimReading(by, '456', {wait, job}, 20, found.map((kv) => (Array.isArray(kv) ? kv : kv ? [kv] : [])) as never)
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

describe("the fault trials' timings", () => {
  // The windows the README's "Choosing --ttl" recommends, so that a trial fails on elect, not on a
  // window a busy machine cannot keep (a 3.5 s one lost its leadership through a restart at a load of 13).
  it('draw fencing windows of at least 6 s where the holder must keep leading, 2.5 s where it loses', () => {
    const narrowest = {keeps: Infinity, loses: Infinity}
    for (const scenario of Object.values(SCENARIOS)) {
      for (let draw = 0; draw < 200; draw++) {
        const {ttlS, killGraceS} = randomTrial(scenario)
        const side = scenario.loses ? 'loses' : 'keeps'
        narrowest[side] = Math.min(narrowest[side], ttlS - killGraceS - 1)
      }
    }
    expect(narrowest).toEqual({keeps: 6, loses: 2.5})
  })
})
