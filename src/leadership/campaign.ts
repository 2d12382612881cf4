import type {Etcd3} from 'etcd3'
import {AttachHost, CampaignRunsHere, NO_HOST} from '../attach/host.js'
import {ensurePrivateDir, runtimeDir, socketPath} from '../attach/runtime-dir.js'
import {AbortedError} from '../election/watch.js'
import type {Candidacy} from '../election/candidacy.js'
import type {Candidate} from '../election/candidate.js'
import {Election} from '../election/election.js'
import {type HealthOptions, HealthWatch} from '../health/health.js'
import {Session} from '../lease/session.js'
import {serverVersion} from '../etcd/versions.js'
import {attachedJobsEndWithinMs, fenceLeadMs} from '../lease/fence.js'
import {grantOf} from './lending.js'
import {after} from '../time/clock.js'

export interface CampaignOptions {
  prefix: string
  name: string
  value: string
  ttlMs: number
  callTimeoutMs: number
  /** Aborted with a signal's name: step down (or, still waiting, withdraw). */
  signal: AbortSignal
  /** --timeout: give up (timed-out) if not elected within this long. */
  timeoutMs?: number
  /** --health-cmd: queue only while it passes; step down once it has failed that many times in a row. */
  health?: HealthOptions
}

export type CampaignEnd =
  | {kind: 'timed-out'}
  | {kind: 'lost'; reason: string; whileWaiting: boolean}
  /** Stepped down on a signal or a resign request, after every attached job was dead. */
  | {kind: 'resigned'; reason: string}

export interface CampaignEvents {
  /** Queued (again, after stepping down for its health), as `self`, behind `leader` (as it was then). */
  waiting(self: Candidate, leader?: Candidate): Promise<void>
  elected(self: Candidate): Promise<void>
  notice(message: string): void
  /** The health check's result changed (the first result counts as one). */
  health?(healthy: boolean, reason?: string): void
  /** Left the queue, or the leadership (its jobs dead first), because the health check kept failing. */
  steppedDown?(reason: string, wasLeading: boolean): void
  /** Its loops still turn: each turn of the keepalive loop, and each health check between terms. */
  alive?(): void
  /** The etcd version a term leads on. */
  serverVersion?(version: string): void
}

/** How one term (a lease, a place in the queue, perhaps a leadership) ended: as the campaign does, or sick. */
type TermEnd = CampaignEnd | Sick
type Sick = {kind: 'sick'; reason: string; wasLeading: boolean}

/** What the terms of a campaign run with: its signal stops it for a signal or --timeout, and `elected` ends the --timeout. */
type Running = Omit<CampaignOptions, 'timeoutMs'> & {elected: () => void}

/** How a campaign ends that its own signal stopped before it led: --timeout, or a signal. */
function stoppedBeforeLeading(signal: AbortSignal): CampaignEnd {
  return signal.reason === 'timeout' ? {kind: 'timed-out'} : {kind: 'resigned', reason: String(signal.reason)}
}

type Host = Pick<AttachHost, 'longestGraceMs' | 'lead' | 'renewed' | 'endLeadership' | 'end'>

/**
 * campaign: queue, lead, and lend the leadership to the run-if-leaders of this machine (through an
 * AttachHost) until it ends. On a cooperative end the key goes only after every attached job is
 * dead; on a loss the jobs are told to stop, and their own fences stop them in any case. With a
 * health check, a campaign whose check keeps failing leaves the queue (or steps down) and queues
 * again, with a new lease, once it passes; the host stays, so this machine's jobs keep asking it.
 */
export async function runCampaign(client: Etcd3, {timeoutMs, ...options}: CampaignOptions, events: CampaignEvents): Promise<CampaignEnd> {
  // --timeout bounds the wait to be elected, and no longer once elected.
  const stop = new AbortController()
  const forward = () => stop.abort(options.signal.reason)
  if (options.signal.aborted) forward()
  else options.signal.addEventListener('abort', forward, {once: true})
  const cancelTimeout = timeoutMs === undefined ? undefined : after(timeoutMs, () => stop.abort('timeout'))
  try {
    return await campaignUntilItEnds(client, {...options, signal: stop.signal, elected: () => cancelTimeout?.()}, events)
  } finally {
    cancelTimeout?.()
    options.signal.removeEventListener('abort', forward)
  }
}

async function campaignUntilItEnds(client: Etcd3, options: Running, events: CampaignEvents): Promise<CampaignEnd> {
  const election = new Election(client, options.prefix, options.name)
  const {clusterId} = await election.peek()
  const dir = runtimeDir()
  ensurePrivateDir(dir)
  let session: Session | undefined
  // A second campaign of the election on this machine (a script's, say) campaigns all the same; the
  // run-if-leaders here stay with the first.
  const host = await AttachHost.open(
    socketPath(dir, options.prefix, options.name),
    {
      clusterId,
      prefix: options.prefix,
      name: options.name,
      value: options.value,
      pid: process.pid,
      ttlMs: options.ttlMs,
    },
    async (killGraceMs) => {
      if (!session) throw new Error('no leadership to lend')
      await session.demand(fenceLeadMs(killGraceMs))
    },
  ).catch((error) => {
    if (!(error instanceof CampaignRunsHere)) throw error
    events.notice(`${error.message}; this one will not lend its leadership to run-if-leader`)
    return NO_HOST
  })
  const health = options.health && new HealthWatch(options.health, (healthy, reason) => events.health?.(healthy, reason))
  try {
    for (;;) {
      if (health && !(await health.untilHealthy(options.signal, () => events.alive?.()))) {
        await host.end('the campaign ended before it led', 0)
        return stoppedBeforeLeading(options.signal)
      }
      const sick = new AbortController()
      const stopWatching = health?.watch((reason) => sick.abort(reason))
      try {
        const end = await term(client, election, host, options, sick.signal, events, (current) => (session = current))
        if (end.kind !== 'sick') return end
        events.steppedDown?.(end.reason, end.wasLeading)
      } finally {
        stopWatching?.()
        session = undefined
      }
    }
  } finally {
    await host.close()
  }
}

/** One lease's stand: queue, lead until the campaign ends, the leadership is lost, or `sick` aborts. */
async function term(
  client: Etcd3,
  election: Election,
  host: Host,
  options: Running,
  sick: AbortSignal,
  events: CampaignEvents,
  started: (session: Session) => void,
): Promise<TermEnd> {
  const lost = new AbortController()
  const stop = AbortSignal.any([options.signal, lost.signal, sick])
  let session: Session | undefined
  let candidacy: Candidacy | undefined
  const endJobs = (reason: string) => host.end(reason, attachedJobsEndWithinMs(host.longestGraceMs))
  const sickness = (wasLeading: boolean): Sick | undefined =>
    sick.aborted && !options.signal.aborted && !lost.signal.aborted ? {kind: 'sick', reason: String(sick.reason), wasLeading} : undefined
  try {
    session = await Session.grant(client, {ttlMs: options.ttlMs, fenceLeadMs: fenceLeadMs(), callTimeoutMs: options.callTimeoutMs})
    started(session)
    session.once('lost', (reason) => lost.abort(reason))
    session.on('keepalive', () => events.alive?.())
    candidacy = await election.enqueue(session, options.value)
    const {self} = candidacy
    await events.waiting(self, candidacy.heldWhenQueued?.[0])
    try {
      await candidacy.waitUntilLeader(stop)
      // A leadership is announced and lent only while its lease is certainly valid.
      await session.fence()
      if (stop.aborted) throw new AbortedError(String(stop.reason))
    } catch (error) {
      if (!(error instanceof AbortedError)) throw error
      const withdrawn = sickness(false)
      if (withdrawn) return withdrawn
      await endJobs('the campaign ended before it led')
      if (lost.signal.aborted) return {kind: 'lost', reason: String(lost.signal.reason), whileWaiting: true}
      return stoppedBeforeLeading(options.signal)
    }
    await candidacy.watchLeadership()
    const leading = session
    leading.on('renewed', (validUntil: number) => host.renewed(validUntil))
    host.lead(grantOf(self), leading.validUntil)
    options.elected()
    await events.elected(self)
    // Told once a term leads, never waited for.
    void serverVersion(client).then((version) => {
      if (version) events.serverVersion?.(version)
    })

    const leadership = candidacy
    const ending = await new Promise<Exclude<TermEnd, {kind: 'timed-out'}>>((resolve) => {
      const resign = (reason: string) => resolve({kind: 'resigned', reason})
      const lose = (reason: string) => resolve({kind: 'lost', reason, whileWaiting: false})
      const stepDown = () => {
        const steppingDown = sickness(true)
        if (steppingDown) resolve(steppingDown)
      }
      if (options.signal.aborted) resign(String(options.signal.reason))
      options.signal.addEventListener('abort', () => resign(String(options.signal.reason)), {once: true})
      if (lost.signal.aborted) lose(String(lost.signal.reason))
      lost.signal.addEventListener('abort', () => lose(String(lost.signal.reason)), {once: true})
      if (sick.aborted) stepDown()
      sick.addEventListener('abort', stepDown, {once: true})
      leadership.once('lost', lose)
      leadership.once('resign-requested', (by) => resign(`resign requested by ${by}`))
    })
    if (ending.kind === 'sick') await host.endLeadership(`the campaign stepped down: ${ending.reason}`, attachedJobsEndWithinMs(host.longestGraceMs))
    else await endJobs(ending.kind === 'lost' ? `the campaign lost leadership: ${ending.reason}` : `the campaign stepped down: ${ending.reason}`)
    return ending
  } finally {
    await candidacy?.stopWatching()
    // Revoking deletes the key: only now, with every attached job dead or out of time.
    await session?.close().catch(() => undefined)
  }
}
