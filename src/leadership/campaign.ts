import type {Etcd3} from 'etcd3'
import {AttachHost, CampaignRunsHere, NO_HOST} from '../attach/host.js'
import {ensurePrivateDir, runtimeDir, socketPath} from '../attach/runtime-dir.js'
import {AbortedError, type Candidacy, type Candidate, Election} from '../election/election.js'
import {Session} from '../lease/session.js'
import {attachedJobsEndWithinMs, fenceLeadMs} from '../lease/fence.js'
import {grantOf} from './lending.js'

export interface StandingOptions {
  prefix: string
  name: string
  value: string
  ttlMs: number
  callTimeoutMs: number
  /** Aborted with 'timeout' (--timeout while waiting) or a signal name (step down). */
  signal: AbortSignal
}

export type StandingEnd =
  | {kind: 'timed-out'}
  | {kind: 'lost'; reason: string; whileWaiting: boolean}
  /** Stepped down on a signal or a resign request, after every attached job was dead. */
  | {kind: 'resigned'; reason: string}

/**
 * campaign: queue, lead, and lend the leadership to the run-if-leaders of this machine (through an
 * AttachHost) until it ends. On a cooperative end the key goes only after every attached job is
 * dead; on a loss the jobs are told to stop, and their own fences stop them in any case.
 */
export async function standForLeadership(
  client: Etcd3,
  options: StandingOptions,
  events: {waiting(self: Candidate): Promise<void>; elected(self: Candidate): Promise<void>; notice(message: string): void},
): Promise<StandingEnd> {
  const election = new Election(client, options.prefix, options.name)
  const {clusterId} = await election.peek()
  const dir = runtimeDir()
  ensurePrivateDir(dir)
  // A second campaign of the election on this machine (a script's, say) campaigns all the same; the
  // run-if-leaders here stay with the first.
  const host = await AttachHost.open(socketPath(dir, options.prefix, options.name), {
    clusterId, prefix: options.prefix, name: options.name, value: options.value, pid: process.pid, ttlMs: options.ttlMs,
  }, (killGraceMs) => session!.demand(fenceLeadMs(killGraceMs))).catch((error) => {
    if (!(error instanceof CampaignRunsHere)) throw error
    events.notice(`${error.message}; this one will not lend its leadership to run-if-leader`)
    return NO_HOST
  })
  const lost = new AbortController()
  const stop = AbortSignal.any([options.signal, lost.signal])
  let session: Session | undefined
  let candidacy: Candidacy | undefined
  const endJobs = (reason: string) => host.end(reason, attachedJobsEndWithinMs(host.longestGraceMs))
  try {
    session = await Session.grant(client, {ttlMs: options.ttlMs, fenceLeadMs: fenceLeadMs(), callTimeoutMs: options.callTimeoutMs})
    session.once('lost', (reason) => lost.abort(reason))
    candidacy = await election.enqueue(session, options.value)
    const {self} = candidacy
    await events.waiting(self)
    try {
      await candidacy.waitUntilLeader(stop)
      // A leadership is announced and lent only while its lease is certainly valid.
      await session.fence()
      if (stop.aborted) throw new AbortedError(String(stop.reason))
    } catch (error) {
      if (!(error instanceof AbortedError)) throw error
      await endJobs('the campaign ended before it led')
      if (lost.signal.aborted) return {kind: 'lost', reason: String(lost.signal.reason), whileWaiting: true}
      return options.signal.reason === 'timeout' ? {kind: 'timed-out'} : {kind: 'resigned', reason: String(options.signal.reason)}
    }
    await candidacy.watchLeadership()
    const leading = session
    leading.on('renewed', (validUntil: number) => host.renewed(validUntil))
    host.lead(grantOf(self), leading.validUntil)
    await events.elected(self)

    const leadership = candidacy
    const ending = await new Promise<Exclude<StandingEnd, {kind: 'timed-out'}>>((resolve) => {
      const resign = (reason: string) => resolve({kind: 'resigned', reason})
      const lose = (reason: string) => resolve({kind: 'lost', reason, whileWaiting: false})
      if (options.signal.aborted) resign(String(options.signal.reason))
      options.signal.addEventListener('abort', () => resign(String(options.signal.reason)), {once: true})
      if (lost.signal.aborted) lose(String(lost.signal.reason))
      lost.signal.addEventListener('abort', () => lose(String(lost.signal.reason)), {once: true})
      leadership.once('lost', lose)
      leadership.once('resign-requested', (by) => resign(`resign requested by ${by}`))
    })
    await endJobs(ending.kind === 'lost' ? `the campaign lost leadership: ${ending.reason}` : `the campaign stepped down: ${ending.reason}`)
    return ending
  } finally {
    await candidacy?.stopWatching()
    // Revoking deletes the key: only now, with every attached job dead or out of time.
    await session?.close().catch(() => undefined)
    await host.close()
  }
}
