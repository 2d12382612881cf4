import type {Etcd3} from 'etcd3'
import type {Attachment} from '../attach/guest.js'
import {after} from '../time/clock.js'
import {AbortedError, type Candidacy, type Candidate, Election} from '../election/election.js'
import {markSlotDone, type OnceSlot, slotMarker} from '../jobs/once-per.js'
import {claimRunning, release} from '../jobs/running.js'
import {leaseHex} from '../lease/leases.js'
import {ended, recordsBeyond, type RunRecord} from '../jobs/records.js'
import {fenceLeadMs, jobDeadline, type LeaseView} from '../lease/fence.js'
import {Session} from '../lease/session.js'
import {persistently} from '../etcd/connection.js'
import {ExitCode} from '../cli/exit-codes.js'
import {Supervisor} from '../supervise/supervisor.js'

export interface GuardedRunOptions {
  prefix: string
  name: string
  value: string
  ttlMs: number
  /** 0: only if elected at once; Infinity: wait forever. */
  waitMs: number
  killSignal: NodeJS.Signals
  killGraceMs: number
  callTimeoutMs: number
  command: string
  args: string[]
  /** --once-per: run at most once in this slot, across every server. */
  slot?: OnceSlot
  /** --job: runs of one job never overlap; runs of different jobs may. */
  job?: string
  /** --keep-runs: how many records of the job's runs etcd keeps. */
  keepRuns: number
}

export type GuardedRunResult =
  | {kind: 'skipped'; leader?: Candidate; slotDone?: boolean; jobRunning?: boolean; campaignSilent?: boolean}
  | {kind: 'timed-out'}
  | {kind: 'interrupted'; signal: NodeJS.Signals}
  | {kind: 'ran'; status: number; lost?: string; interruptedBy?: NodeJS.Signals; leader: Candidate; record: RunRecord}
  /** The lease or the leadership ended before the command could start: nothing ran. */
  | {kind: 'lost-before-start'; reason: string}

type Log = (message: string) => void

/** What a run makes ahead of its turn: the lease its running marker will hold, and its guard. */
interface Prepared {
  runLease: Promise<Session>
  supervisor: Supervisor
  /** The job's oldest records, which the claim deletes as it writes this run's. */
  prune: Promise<string[]>
}

/** The leadership a command runs under, and the lease its running marker holds. */
interface Won {
  candidacy: Candidacy
  leaderLease: LeaseView
  runLease: Session
  /** Written with the claim, as a run that started; the release rewrites it with how it ended. */
  record: RunRecord
}

/**
 * run-if-leader: win the election (or, where a campaign of this election runs on this machine,
 * borrow its leadership), run the command under a guard while the lease is certainly held, and
 * release only after the command's whole process group is dead.
 */
export async function guardedRun(client: Etcd3, options: GuardedRunOptions, log: Log, campaign?: Attachment | 'silent'): Promise<GuardedRunResult> {
  const election = new Election(client, options.prefix, options.name)
  const {leader, exist: [slotDone = false], clusterId} = await election.peek(options.slot ? [slotMarker(election.keys, options.slot, options.job)] : [])
  if (slotDone) return {kind: 'skipped', slotDone}
  if (campaign === 'silent') return {kind: 'skipped', campaignSilent: true}
  // A campaign of the same election in another etcd cluster has nothing to lend.
  const lender = campaign?.hello.clusterId === clusterId ? campaign : undefined
  if (campaign && !lender) campaign.close()
  if (!lender && leader && options.waitMs === 0) return {kind: 'skipped', leader}

  const grant = () => Session.grant(client, {ttlMs: options.ttlMs, fenceLeadMs: fenceLeadMs(options.killGraceMs), callTimeoutMs: options.callTimeoutMs})
  // From the first lease until the release, a signal must never meet the default death: while
  // waiting it withdraws the candidacy; once the command runs, the supervision decides.
  const interrupted = new AbortController()
  let onSignalWhileRunning: ((signal: NodeJS.Signals) => void) | undefined
  const onSignal = (signal: NodeJS.Signals) => (onSignalWhileRunning ? onSignalWhileRunning(signal) : interrupted.abort(signal))
  for (const signal of SIGNALS) process.on(signal, onSignal)
  // Every grant is kept, settled or not, so that the release revokes whatever was granted.
  const grants: Array<Promise<Session>> = []
  const leaseOf = () => {
    const granted = grant()
    granted.catch(() => undefined) // a grant nobody awaited yet must not fail the process
    grants.push(granted)
    return granted
  }
  // A run that waits makes its own lease and its guard while it waits, not on the way from elected to
  // running. One that may skip (without --wait) makes them once it knows it will run: a fleet of cron
  // fires must not cost etcd a lease for every server that finds another ahead.
  let prepared: Prepared | undefined
  const prepare = (): Prepared =>
    (prepared ??= {
      runLease: leaseOf(),
      prune: recordsBeyond(client, election.keys, options.job, options.keepRuns).catch(() => []),
      supervisor: Supervisor.prepare({
        command: options.command,
        args: options.args,
        killSignal: options.killSignal,
        killGraceMs: options.killGraceMs,
        env: {...process.env, ELECT_NAME: options.name, ...(options.job === undefined ? {} : {ELECT_JOB: options.job})},
      }),
    })
  let candidacy: Candidacy | undefined
  let won: Won | undefined
  /** How the run ended; a claimed run that never started its command leaves no record. */
  let endedRecord: RunRecord | undefined
  try {
    const stop = new AbortController()
    const turn = await waitForTurn(options, interrupted.signal, stop, async (signal) => {
      if (lender) return borrow(client, election, lender, leader, options, prepare, log, signal)
      if (options.waitMs > 0) prepare()
      const session = await leaseOf()
      candidacy = await election.enqueue(session, options.value)
      log(`queued as ${candidacy.self.key} (revision ${candidacy.self.createRevision})`)
      session.once('lost', (reason) => stop.abort(reason))
      return win(client, candidacy, session, options, prepare, signal)
    })
    if (!('runLease' in turn)) return turn
    won = turn
    candidacy = won.candidacy
    // Marked before the command starts, so a run that fails or is stopped still counts as the slot's.
    if (options.slot && !(await markSlotDone(client, election.keys, options.slot, `${options.value} ${candidacy.self.createRevision}`, options.job)))
      return {kind: 'skipped', slotDone: true}
    if (interrupted.signal.aborted) return {kind: 'interrupted', signal: interrupted.signal.reason}
    log(`elected: ${candidacy.self.key} (revision ${candidacy.self.createRevision}); starting ${options.command}`)
    const result = await supervise(won, prepare().supervisor, options, log, (handler) => {
      onSignalWhileRunning = handler
      // A signal that came while the command was being started is its first.
      if (interrupted.signal.aborted) handler(interrupted.signal.reason)
    })
    if (result.kind === 'ran') endedRecord = result.record
    return result
  } finally {
    // Only now is the command's group dead: the next run may start. One transaction frees the job and
    // (unless borrowed) the leadership, so a queued successor hears of both at once; revoking the
    // leases after it deletes whatever that transaction could not.
    // A release lost to an etcd blip would leave the successor waiting for the leases to expire.
    const releasing = won
    const released =
      releasing &&
      persistently(() => release(client, releasing.candidacy, releasing.runLease, {job: options.job, ownLeadership: !lender, record: endedRecord ?? 'discard'}), options.callTimeoutMs).catch(() => undefined)
    prepared?.supervisor.cancel()
    for (const signal of SIGNALS) process.off(signal, onSignal)
    await candidacy?.stopWatching()
    await released
    const leases = (await Promise.allSettled(grants)).flatMap((grant) => (grant.status === 'fulfilled' ? [grant.value] : []))
    await Promise.all(
      leases.map((lease) => lease.close().catch((error) => log(`could not revoke a lease, it will expire by itself: ${error.message}`))),
    )
    lender?.done()
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/**
 * Runs `getThere` under --wait's bound and the run's signals, and turns their abort into the result
 * it stands for. `stop` is also aborted (with a reason) when the lease the run waits with is lost.
 */
async function waitForTurn(
  options: GuardedRunOptions,
  interrupted: AbortSignal,
  stop: AbortController,
  getThere: (signal: AbortSignal) => Promise<Won | GuardedRunResult>,
): Promise<Won | GuardedRunResult> {
  const onInterrupt = () => stop.abort(interrupted.reason)
  if (interrupted.aborted) onInterrupt()
  interrupted.addEventListener('abort', onInterrupt)
  // --wait bounds the wait for leadership; with --wait 0 there is none (a queue ahead means a skip).
  const cancelWait = options.waitMs > 0 && Number.isFinite(options.waitMs) ? after(options.waitMs, () => stop.abort('wait')) : undefined
  try {
    if (stop.signal.aborted) throw new AbortedError(String(stop.signal.reason))
    const result = await getThere(stop.signal)
    // A signal that came as the claim succeeded must not be lost before the command starts.
    if (stop.signal.aborted) throw new AbortedError(String(stop.signal.reason))
    return result
  } catch (error) {
    if (!(error instanceof AbortedError)) throw error
    const why = stop.signal.reason
    if (why === 'wait') return {kind: 'timed-out'}
    if (SIGNALS.includes(why)) return {kind: 'interrupted', signal: why}
    return {kind: 'lost-before-start', reason: String(why)}
  } finally {
    cancelWait?.()
    interrupted.removeEventListener('abort', onInterrupt)
  }
}

/** Skips if another led when this candidate queued and --wait does not say to wait; else claims the job as `claim` does. */
async function win(
  client: Etcd3,
  candidacy: Candidacy,
  session: Session,
  options: GuardedRunOptions,
  prepare: () => Prepared,
  signal: AbortSignal,
): Promise<Won | GuardedRunResult> {
  if (options.waitMs === 0 && candidacy.leaderWhenQueued) return {kind: 'skipped', leader: candidacy.leaderWhenQueued}
  const won = await claim(client, candidacy, session, session, options, prepare(), signal)
  // A waiting candidate's key goes, as a rule, with its lease: when etcd confirms that, say so.
  if ('kind' in won && won.kind === 'lost-before-start') {
    await session.confirm()
    if (session.lost) return {kind: 'lost-before-start', reason: session.lost}
  }
  return won
}

/**
 * Runs under the leadership of the campaign on this machine: never a candidate key of its own. Skips
 * without a write when the campaign does not lead and --wait does not say to wait for it.
 */
async function borrow(
  client: Etcd3,
  election: Election,
  lender: Attachment,
  leader: Candidate | undefined,
  options: GuardedRunOptions,
  prepare: () => Prepared,
  log: Log,
  signal: AbortSignal,
): Promise<Won | GuardedRunResult> {
  if (options.waitMs > 0) prepare()
  log(`attaching to the campaign of ${lender.hello.value} on this machine (pid ${lender.hello.pid})`)
  const outcome = await lender.attach({wait: options.waitMs > 0, killGraceMs: options.killGraceMs, signal})
  if (outcome.kind === 'aborted') throw new AbortedError(String(signal.reason))
  if (outcome.kind === 'not-leading') return {kind: 'skipped', leader}
  if (outcome.kind === 'ended') return {kind: 'lost-before-start', reason: `the campaign on this machine ended: ${outcome.reason}`}
  const {key, revision, leaseId, value} = outcome.grant
  const candidacy = election.follow({key, value, leaseId, createRevision: revision})
  return claim(client, candidacy, lender, undefined, options, prepare(), signal)
}

/**
 * Claims the job's running marker for this run on a lease of the run's own, once this candidate leads
 * and no other run of the job can be running (or skips, without --wait, if one may be), and fences
 * the leases this run holds: its run lease and, unless borrowed, the leadership's (a campaign fences
 * its own before it lends it).
 */
async function claim(
  client: Etcd3,
  candidacy: Candidacy,
  leaderLease: LeaseView,
  ownLeaderLease: Session | undefined,
  options: GuardedRunOptions,
  prepared: Prepared,
  signal: AbortSignal,
): Promise<Won | GuardedRunResult> {
  const [runLease, prune] = await Promise.all([prepared.runLease, prepared.prune])
  const {self} = candidacy
  let record!: RunRecord
  const recordNow = () =>
    (record = {
      job: options.job ?? null,
      value: self.value,
      rev: self.createRevision,
      lease: leaseHex(runLease.leaseId),
      startedAt: new Date().toISOString(),
      endedAt: null,
      durationMs: null,
      outcome: 'running',
      status: null,
      reason: null,
    })
  const claimed = await claimRunning(client, candidacy, runLease, {job: options.job, wait: options.waitMs > 0, signal, record: recordNow, prune})
  if (claimed === 'busy') return {kind: 'skipped', jobRunning: true}
  if (claimed === 'lost') return {kind: 'lost-before-start', reason: 'the leadership ended before the job could be claimed'}
  // From here a command relies on both leases: each must be certainly valid, or it never starts.
  await Promise.all([runLease.fence(), ownLeaderLease?.fence()])
  const lost = leaderLease.lost ?? runLease.lost
  if (lost) {
    // Nothing ran: the claim's record goes (the marker goes with the run lease, revoked on the way out).
    await release(client, candidacy, runLease, {job: options.job, ownLeadership: false, record: 'discard'}).catch(() => undefined)
    return {kind: 'lost-before-start', reason: lost}
  }
  return {candidacy, leaderLease, runLease, record}
}

async function supervise(
  {candidacy, leaderLease, runLease, record}: Won,
  supervisor: Supervisor,
  options: GuardedRunOptions,
  log: Log,
  onSignals: (handler: (signal: NodeJS.Signals) => void) => void,
): Promise<GuardedRunResult> {
  const {self} = candidacy
  const leases = [leaderLease, runLease]
  const alreadyLost = leases.find((lease) => lease.lost)?.lost
  if (alreadyLost) return {kind: 'lost-before-start', reason: alreadyLost}
  // The command may run only while both leases are certainly valid.
  const deadline = () => jobDeadline(leases, options.killGraceMs)
  await supervisor.start(deadline(), {
    ELECT_KEY: self.key,
    ELECT_REV: String(self.createRevision),
    ELECT_LEASE: leaseHex(self.leaseId),
    ELECT_VALUE: self.value,
  })
  // Not before: the claim has just proved the key this candidate's, and the leases' fences bound the
  // run whatever happens to it; the first read of the leadership is not worth a later start.
  await candidacy.watchLeadership()
  let lost: string | undefined
  const lose = (reason: string) => {
    lost ??= reason
    supervisor.stop(options.killSignal, reason)
  }
  const onRenewed = () => supervisor.extend(deadline())
  for (const lease of leases) {
    lease.on('renewed', onRenewed)
    lease.on('lost', lose)
    if (lease.lost) lose(lease.lost)
  }
  candidacy.on('lost', lose)
  candidacy.on('resign-requested', (by: string) => lose(`resign requested by ${by}`))
  if (candidacy.ended) lose(candidacy.ended)

  /** The first signal: passed on; a second kills the group. */
  let interruptedBy: NodeJS.Signals | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    if (interruptedBy === undefined) {
      interruptedBy = signal
      log(`${signal}: passing it to the command`)
      supervisor.forward(signal)
    } else {
      supervisor.stop('SIGKILL', `second ${signal}`)
    }
  }
  onSignals(onSignal)
  try {
    const outcome = await supervisor.exited
    log(`command ended with status ${outcome.status}${outcome.stoppedBecause ? ` (${outcome.stoppedBecause})` : ''}`)
    // The guard stopped the group on its own: its deadline passed before elect heard of any loss.
    lost ??= outcome.stoppedBecause && interruptedBy === undefined ? outcome.stoppedBecause : undefined
    if (lost) return {kind: 'ran', status: ExitCode.lost, lost, leader: self, record: ended(record, 'lost', ExitCode.lost, lost)}
    if (interruptedBy)
      return {kind: 'ran', status: outcome.status, interruptedBy, leader: self, record: ended(record, 'interrupted', outcome.status, interruptedBy)}
    return {kind: 'ran', status: outcome.status, leader: self, record: ended(record, outcome.status === 0 ? 'succeeded' : 'failed', outcome.status)}
  } finally {
    for (const lease of leases) lease.off('renewed', onRenewed)
  }
}
