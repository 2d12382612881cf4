import type {Etcd3} from 'etcd3'
import {AbortedError, type Candidacy, type Candidate, Election, type OnceSlot} from './election/election.js'
import {leaseHex} from './election/keys.js'
import {Session} from './election/session.js'
import {ExitCode} from './exit-codes.js'
import {Supervisor} from './supervise/supervisor.js'

/**
 * What must fit between "the lease might be gone" and the command's kill sequence beyond --kill-grace:
 * timer lateness, signal delivery, process teardown. The command's group is dead this long before
 * the server could expire the lease.
 */
export const SAFETY_MARGIN_MS = 1000

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
}

export type GuardedRunResult =
  | {kind: 'skipped'; leader?: Candidate; slotDone?: boolean}
  | {kind: 'timed-out'}
  | {kind: 'interrupted'; signal: NodeJS.Signals}
  | {kind: 'ran'; status: number; lost?: string; leader: Candidate}
  /** The lease or the leadership ended before the command could start: nothing ran. */
  | {kind: 'lost-before-start'; reason: string}

type Log = (message: string) => void

/**
 * run-if-leader: win the election (or skip), run the command under a guard while the lease is
 * certainly held, and release only after the command's whole process group is dead.
 */
export async function guardedRun(client: Etcd3, options: GuardedRunOptions, log: Log): Promise<GuardedRunResult> {
  const election = new Election(client, options.prefix, options.name)
  const {leader, slotDone} = await election.peek(options.slot)
  if (slotDone) return {kind: 'skipped', slotDone}
  if (leader && options.waitMs === 0) return {kind: 'skipped', leader}

  const fenceLeadMs = options.killGraceMs + SAFETY_MARGIN_MS
  const grant = () => Session.grant(client, {ttlMs: options.ttlMs, fenceLeadMs, callTimeoutMs: options.callTimeoutMs})
  // From the first lease until the release, a signal must never meet the default death: while
  // waiting it withdraws the candidacy; once the command runs, the supervision decides.
  const interrupted = new AbortController()
  let onSignalWhileRunning: ((signal: NodeJS.Signals) => void) | undefined
  const onSignal = (signal: NodeJS.Signals) => (onSignalWhileRunning ? onSignalWhileRunning(signal) : interrupted.abort(signal))
  for (const signal of SIGNALS) process.on(signal, onSignal)
  const leases: Session[] = []
  let candidacy: Candidacy | undefined
  try {
    leases.push(await grant())
    candidacy = await election.enqueue(leases[0], options.value)
    log(`queued as ${candidacy.self.key} (revision ${candidacy.self.createRevision})`)
    const won = await win(candidacy, options, interrupted.signal, async () => {
      leases.push(await grant())
      return leases[1]
    })
    if (!(won instanceof Session)) return won
    // Marked before the command starts, so a run that fails or is stopped still counts as the slot's.
    if (options.slot && !(await election.markSlotDone(options.slot, `${options.value} ${candidacy.self.createRevision}`)))
      return {kind: 'skipped', slotDone: true}
    if (interrupted.signal.aborted) return {kind: 'interrupted', signal: interrupted.signal.reason}
    log(`elected: ${candidacy.self.key} (revision ${candidacy.self.createRevision}); starting ${options.command}`)
    return await supervise(candidacy, won, options, fenceLeadMs, log, (handler) => {
      onSignalWhileRunning = handler
      // A signal that came while the command was being started is its first.
      if (interrupted.signal.aborted) handler(interrupted.signal.reason)
    })
  } finally {
    for (const signal of SIGNALS) process.off(signal, onSignal)
    await candidacy?.stopWatching()
    // Only now is the command's group dead. Revoking deletes the candidate key and the running marker.
    await Promise.all(
      leases.map((lease) => lease.close().catch((error) => log(`could not revoke a lease, it will expire by itself: ${error.message}`))),
    )
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/**
 * Waits, as --wait allows, until this candidate leads and no earlier holder's command can be running;
 * returns the lease its running marker holds, or why it did not get there.
 */
async function win(
  candidacy: Candidacy,
  options: GuardedRunOptions,
  interrupted: AbortSignal,
  grantRunLease: () => Promise<Session>,
): Promise<Session | GuardedRunResult> {
  const stop = new AbortController()
  const onInterrupt = () => stop.abort(interrupted.reason)
  const onLost = (reason: string) => stop.abort(reason)
  if (interrupted.aborted) onInterrupt()
  interrupted.addEventListener('abort', onInterrupt)
  candidacy.session.once('lost', onLost)
  // --wait bounds the wait for leadership; with --wait 0 there is none (a queue ahead means a skip).
  const waitTimer = options.waitMs > 0 && Number.isFinite(options.waitMs) ? setTimeout(() => stop.abort('wait'), options.waitMs) : undefined
  try {
    if (stop.signal.aborted) throw new AbortedError(String(stop.signal.reason))
    if (options.waitMs === 0) {
      const ahead = (await candidacy.predecessor()).candidate
      if (ahead) return {kind: 'skipped', leader: ahead}
    } else {
      await candidacy.waitUntilLeader(stop.signal)
    }
    await candidacy.watchLeadership()
    const runLease = await grantRunLease()
    await candidacy.claimRunning(runLease, stop.signal)
    // From here a command relies on both leases: each must be certainly valid, or it never starts.
    await Promise.all([candidacy.session.fence(), runLease.fence()])
    // A signal that came as the claim succeeded must not be lost before the command starts.
    if (stop.signal.aborted) throw new AbortedError(String(stop.signal.reason))
    return runLease
  } catch (error) {
    if (!(error instanceof AbortedError)) throw error
    const why = stop.signal.reason
    if (why === 'wait') return {kind: 'timed-out'}
    if (SIGNALS.includes(why)) return {kind: 'interrupted', signal: why}
    return {kind: 'lost-before-start', reason: String(why)}
  } finally {
    clearTimeout(waitTimer)
    interrupted.removeEventListener('abort', onInterrupt)
    candidacy.session.off('lost', onLost)
  }
}

async function supervise(
  candidacy: Candidacy,
  runLease: Session,
  options: GuardedRunOptions,
  fenceLeadMs: number,
  log: Log,
  onSignals: (handler: (signal: NodeJS.Signals) => void) => void,
): Promise<GuardedRunResult> {
  const {session, self} = candidacy
  const leases = [session, runLease]
  const alreadyLost = leases.find((lease) => lease.lost)?.lost
  if (alreadyLost) return {kind: 'lost-before-start', reason: alreadyLost}
  // The command may run only while both leases are certainly valid.
  const deadline = () => Math.min(session.validUntil, runLease.validUntil) - fenceLeadMs
  const supervisor = await Supervisor.start({
    command: options.command,
    args: options.args,
    killSignal: options.killSignal,
    killGraceMs: options.killGraceMs,
    deadlineMs: deadline(),
    env: {
      ...process.env,
      ELECT_NAME: options.name,
      ELECT_KEY: self.key,
      ELECT_REV: String(self.createRevision),
      ELECT_LEASE: leaseHex(self.leaseId),
      ELECT_VALUE: options.value,
    },
  })
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

  let interrupts = 0
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++
    if (interrupts === 1) {
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
    if (lost) return {kind: 'ran', status: ExitCode.lost, lost, leader: self}
    // The guard stopped the group on its own: its deadline passed before elect heard of any loss.
    if (outcome.stoppedBecause && interrupts === 0)
      return {kind: 'ran', status: ExitCode.lost, lost: outcome.stoppedBecause, leader: self}
    return {kind: 'ran', status: outcome.status, leader: self}
  } finally {
    for (const lease of leases) lease.off('renewed', onRenewed)
  }
}
