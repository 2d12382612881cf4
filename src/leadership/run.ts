import type {Etcd3} from 'etcd3'
import type {Attachment} from '../attach/attachment.js'
import {after, monotonicMs} from '../time/clock.js'
import {AbortedError} from '../election/watch.js'
import type {Candidacy} from '../election/candidacy.js'
import type {Candidate} from '../election/candidate.js'
import {Election} from '../election/election.js'
import {markSlotDone, type SlotStanding} from '../jobs/once-per.js'
import {firstPause, pausesOf} from '../jobs/pause.js'
import {claimRunning, release} from '../jobs/running.js'
import {leaseHex} from '../lease/leases.js'
import {recordsBeyond, type RunRecord, starting, writeRunRecord} from '../jobs/records.js'
import {fenceLeadMs, type LeaseView} from '../lease/fence.js'
import {Session} from '../lease/session.js'
import {isOutOfSpace, isTransient, refusalOf} from '../etcd/errors.js'
import {persistently} from '../etcd/retry.js'
import {serverVersion} from '../etcd/versions.js'
import {Supervisor} from '../supervise/supervisor.js'
import {candidateOf} from './lending.js'
import {RunSignals} from './signals.js'
import type {Log, RunIfLeaderOptions, RunIfLeaderResult} from './run-types.js'
import {superviseCommand, type Won} from './supervise-command.js'

/** Why a wait for a turn was stopped: --wait ran out, a signal, or the lease it waited with was lost. */
type StopReason = {kind: 'wait'} | {kind: 'signal'; signal: NodeJS.Signals} | {kind: 'lost'; reason: string}

/** How the wait for a turn ended: this run may start its command, or it ends as it says. */
type Turn = Won | RunIfLeaderResult

/** What a run makes ahead of its turn, beside its guard (see guarded): the lease its running marker will hold. */
interface Prepared {
  runLease: Promise<Session>
  /** The job's oldest records, which the claim deletes as it writes this run's. */
  prune: Promise<string[]>
}

/** One run from its first lease to its release: what it holds, so that the release frees all of it. */
export class Run {
  private readonly signals = new RunSignals()
  /** Every grant is kept, settled or not, so that the release revokes whatever was granted. */
  private readonly grants: Array<Promise<Session>> = []
  private prepared?: Prepared
  private guard?: Supervisor
  private candidacy?: Candidacy
  private won?: Won
  /** How the run ended; a claimed run that never started its command leaves no record. */
  private endedRecord?: RunRecord
  /** Asked once its candidacy may lead (never on a skip's path), told once it does. */
  private serverVersion?: Promise<string | undefined>
  private versionTold?: Promise<void>

  constructor(
    private readonly client: Etcd3,
    private readonly election: Election,
    private readonly options: RunIfLeaderOptions,
    private readonly log: Log,
    private readonly lender: Attachment | undefined,
    /** What the fire's first read found of its --once-per slot. */
    private readonly slot: SlotStanding | undefined,
  ) {}

  async perform(holding: Candidate[]): Promise<RunIfLeaderResult> {
    this.signals.listen()
    let result: RunIfLeaderResult | undefined
    try {
      result = await this.toTheEnd(holding)
    } finally {
      const unrecorded = await this.release()
      // Assigned, not returned, here: an error thrown above still goes on once the release is done.
      if (unrecorded && result?.kind === 'ran') result = {...result, unrecorded}
    }
    return result
  }

  /** The run up to its release: the turn, the slot, the command. */
  private async toTheEnd(holding: Candidate[]): Promise<RunIfLeaderResult> {
    const {options, log} = this
    const turn = await this.waitForTurn((stopWith, signal) => (this.lender ? this.borrow(this.lender, holding, signal) : this.campaign(stopWith, signal)))
    if (turn.kind !== 'won') return turn
    this.won = turn
    this.versionTold = this.serverVersion?.then((version) => {
      if (version) options.onServerVersion?.(version)
    })
    const {candidacy} = turn
    // Marked before the command starts, so a run that fails or is stopped still counts as the slot's.
    if (
      options.slot &&
      !(await markSlotDone(
        this.client,
        this.election.keys,
        options.slot,
        `${options.value} ${candidacy.self.createRevision}`,
        options.job,
        this.slot ?? {done: false},
      ))
    )
      return {kind: 'skipped', because: 'slot-done'}
    const interruptedBy = this.signals.caught
    if (interruptedBy) return {kind: 'interrupted', signal: interruptedBy}
    log(`elected: ${candidacy.self.key} (revision ${candidacy.self.createRevision}); starting ${options.command}`)
    const result = await superviseCommand(turn, this.guarded(), options, log, this.signals)
    if (result.kind === 'ran') this.endedRecord = result.record
    return result
  }

  /**
   * Runs `reachTurn` under --wait's bound and the run's signals, and turns the reason it was stopped
   * for into the result that reason stands for. `reachTurn` stops it too (`stopWith`) when the lease
   * it waits with is lost.
   */
  private async waitForTurn(reachTurn: (stopWith: (reason: StopReason) => void, signal: AbortSignal) => Promise<Turn>): Promise<Turn> {
    const stop = new AbortController()
    const stopWith = (reason: StopReason) => stop.abort(reason)
    const cancelSignals = this.signals.whileWaiting((signal) => stopWith({kind: 'signal', signal}))
    // --wait bounds the wait for leadership; with --wait 0 there is none (a queue ahead means a skip).
    const {waitMs} = this.options
    const cancelWait = waitMs > 0 && Number.isFinite(waitMs) ? after(waitMs, () => stopWith({kind: 'wait'})) : undefined
    try {
      if (stop.signal.aborted) throw new AbortedError(stopReasonText(stop.signal.reason as StopReason))
      const result = await reachTurn(stopWith, stop.signal)
      // A signal that came as the claim succeeded must not be lost before the command starts.
      if (stop.signal.aborted) throw new AbortedError(stopReasonText(stop.signal.reason as StopReason))
      return result
    } catch (error) {
      if (!(error instanceof AbortedError)) throw error
      const why = stop.signal.reason as StopReason
      switch (why.kind) {
        case 'wait':
          return {kind: 'timed-out'}
        case 'signal':
          return {kind: 'interrupted', signal: why.signal}
        case 'lost':
          return {kind: 'lost-before-start', reason: why.reason}
      }
      const exhaustive: never = why
      return exhaustive
    } finally {
      cancelWait?.()
      cancelSignals()
    }
  }

  /**
   * Campaigns with a lease of its own. Skips if another led when this candidate queued and --wait
   * does not say to wait; else claims the job as `claim` does.
   */
  private async campaign(stopWith: (reason: StopReason) => void, signal: AbortSignal): Promise<Turn> {
    if (this.options.waitMs > 0) this.prepare()
    // The guard costs etcd nothing, and its start (bash, the job's cgroup) takes about as long as the
    // campaign's round trips: it starts now, so that it is ready when the turn comes. (A borrowed run
    // starts its own once the campaign lends: on a follower, every fire asks and skips.)
    else this.guarded()
    const session = await this.lease()
    const candidacy = (this.candidacy = await this.election.enqueue(session, this.options.value))
    this.log(`queued as ${candidacy.self.key} (revision ${candidacy.self.createRevision})`)
    session.once('lost', (reason: string) => stopWith({kind: 'lost', reason}))
    if (this.options.waitMs === 0 && candidacy.heldWhenQueued) return {kind: 'skipped', because: 'another-leads', holding: candidacy.heldWhenQueued}
    // Beside the claim, not before it: the version is told, never waited for.
    this.serverVersion = serverVersion(this.client)
    const turn = await this.claim(candidacy, session, session, signal)
    // A waiting candidate's key goes, as a rule, with its lease: when etcd confirms that, say so.
    if (turn.kind === 'lost-before-start') {
      await session.confirm()
      if (session.lost) return {kind: 'lost-before-start', reason: session.lost}
    }
    return turn
  }

  /**
   * Runs under the leadership of the campaign on this machine: never a candidate key of its own. Skips
   * without a write when the campaign does not lead and --wait does not say to wait for it.
   */
  private async borrow(lender: Attachment, holding: Candidate[], signal: AbortSignal): Promise<Turn> {
    if (this.options.waitMs > 0) this.prepare()
    this.log(`attaching to the campaign of ${lender.hello.value} on this machine (pid ${lender.hello.pid})`)
    const outcome = await lender.attach({wait: this.options.waitMs > 0, killGraceMs: this.options.killGraceMs, signal})
    if (outcome.kind === 'aborted') throw new AbortedError(stopReasonText(signal.reason as StopReason))
    if (outcome.kind === 'not-leading') return {kind: 'skipped', because: 'another-leads', holding}
    // The reason names the campaign already ("the campaign on this machine ended", "the campaign lost leadership: ...").
    if (outcome.kind === 'ended') return {kind: 'lost-before-start', reason: outcome.reason}
    const candidacy = this.election.candidacyOf(candidateOf(outcome.grant))
    return this.claim(candidacy, lender, undefined, signal)
  }

  /**
   * Claims the job's running marker for this run on a lease of the run's own, once this candidate
   * leads and no other run of the job can be running (or skips, without --wait, if one may be), and
   * fences the leases this run holds: its run lease and, unless borrowed, the leadership's (a campaign
   * fences its own before it lends it).
   */
  private async claim(candidacy: Candidacy, leaderLease: LeaseView, ownLeaderLease: Session | undefined, signal: AbortSignal): Promise<Turn> {
    const {client, options} = this
    const prepared = this.prepare()
    const [runLease, prune] = await Promise.all([prepared.runLease, prepared.prune])
    const {self} = candidacy
    const startRecord = () => starting({job: options.job ?? null, value: self.value, rev: self.createRevision, lease: leaseHex(runLease.leaseId)})
    const claimed = await claimRunning(client, candidacy, runLease, {job: options.job, wait: options.waitMs > 0, signal, startRecord, prune})
    if (claimed === 'busy') return {kind: 'skipped', because: 'job-running'}
    if (claimed === 'paused')
      return {
        kind: 'skipped',
        because: 'paused',
        pause: firstPause(this.election.keys, (await this.election.peek({pauses: pausesOf(this.election.keys, options.job)})).found.pauses),
      }
    if (claimed === 'lost') return {kind: 'lost-before-start', reason: 'the leadership ended before the job could be claimed'}
    const {claimed: marker, record} = claimed
    // From here a command relies on both leases: each must be certainly valid, or it never starts.
    await Promise.all([runLease.fence(), ownLeaderLease?.fence()])
    const lost = leaderLease.lost ?? runLease.lost
    if (lost) {
      // Nothing ran: the claim's record goes (the marker goes with the run lease, revoked on the way out).
      await release(client, candidacy, runLease, {job: options.job, marker, ownLeadership: false, record: 'discard'}).catch(() => undefined)
      return {kind: 'lost-before-start', reason: lost}
    }
    // startRecord was given: the claim wrote a record.
    return {kind: 'won', candidacy, leaderLease, runLease, marker, record: record!}
  }

  /** A lease for this run, kept for the release. */
  private lease(): Promise<Session> {
    const {client, options} = this
    const granted = Session.grant(client, {ttlMs: options.ttlMs, fenceLeadMs: fenceLeadMs(options.killGraceMs), callTimeoutMs: options.callTimeoutMs})
    granted.catch(() => undefined) // a grant nobody awaited yet must not fail the process
    this.grants.push(granted)
    return granted
  }

  /**
   * A run that waits makes its own lease and its guard while it waits, not on the way from elected to
   * running. One that may skip (without --wait) makes its lease once it knows it will run: a fleet of
   * cron fires must not cost etcd a lease for every server that finds another ahead.
   */
  private prepare(): Prepared {
    const {client, election, options} = this
    this.guarded()
    return (this.prepared ??= {
      runLease: this.lease(),
      prune: recordsBeyond(client, election.keys, options.job, options.keepRuns).catch(() => []),
    })
  }

  /** The guard of the command, started once; release() ends it if it never runs. */
  private guarded(): Supervisor {
    const {options} = this
    return (this.guard ??= Supervisor.prepare({
      label: options.job === undefined ? options.name : `${options.name} ${options.job}`,
      command: options.command,
      args: options.args,
      killSignal: options.killSignal,
      killGraceMs: options.killGraceMs,
      maxRuntimeMs: options.maxRuntimeMs,
      env: {...process.env, ELECT_NAME: options.name, ...(options.job === undefined ? {} : {ELECT_JOB: options.job})},
    }))
  }

  /**
   * Only now is the command's whole job dead: the next run may start. One transaction frees the job and
   * (unless borrowed) the leadership, so a queued successor hears of both at once; revoking the leases
   * after it deletes whatever that transaction could not.
   */
  private async release(): Promise<string | undefined> {
    const {won, lender} = this
    // One budget for the whole release, so that an etcd outage ends the run within --command-timeout.
    const giveUpAt = monotonicMs() + this.options.callTimeoutMs
    const released = won && this.releaseWon(won)
    this.guard?.cancel()
    this.signals.unlisten()
    await (won?.candidacy ?? this.candidacy)?.stopWatching()
    const unrecorded = await released
    await this.versionTold
    const leases = (await Promise.allSettled(this.grants)).flatMap((grant) => (grant.status === 'fulfilled' ? [grant.value] : []))
    await Promise.all(
      leases.map((lease) =>
        lease.close(giveUpAt - monotonicMs()).catch((error) => this.log(`could not revoke a lease, it will expire by itself: ${refusalOf(error)}`)),
      ),
    )
    lender?.done()
    return unrecorded
  }

  /**
   * Frees the job and the leadership, and records how the run ended; resolves with why its end could
   * not be recorded, if it could not. A release lost to an etcd blip would leave the successor waiting
   * for the leases to expire, so it is tried again while etcd is unreachable. One that etcd refuses
   * (a full etcd takes deletes, not puts; a role revoked takes neither) frees what it can without the
   * record first, then tries the record alone for as long again.
   */
  private async releaseWon(won: Won): Promise<string | undefined> {
    const {client, options, lender} = this
    const record = this.endedRecord ?? 'discard'
    const releaseWith = (what?: RunRecord | 'discard') => () =>
      release(client, won.candidacy, won.runLease, {job: options.job, marker: won.marker, ownLeadership: !lender, record: what})
    try {
      await persistently(releaseWith(record), options.callTimeoutMs)
      return undefined
    } catch (error) {
      if (record === 'discard') return undefined // nothing ran: no record to lose
      // etcd unreachable the whole time: nothing more will get through, and the run's line said why
      // (its record reads as an end not recorded).
      if (isTransient(error)) return undefined
      await persistently(releaseWith(undefined), options.callTimeoutMs).catch(() => undefined)
      try {
        await persistently(
          () => writeRunRecord(client, this.election.keys, won.runLease.leaseId, options.job, record),
          options.callTimeoutMs,
          (again) => isTransient(again) || isOutOfSpace(again),
        )
        return undefined
      } catch (again) {
        return refusalOf(isTransient(again) ? error : again)
      }
    }
  }
}

function stopReasonText(reason: StopReason): string {
  return reason.kind === 'lost' ? reason.reason : reason.kind === 'signal' ? reason.signal : 'wait'
}
