// What a run-if-leader is asked to do, and how it can end: the use case's contract with the command.
import type {Candidate} from '../election/candidate.js'
import type {OnceSlot} from '../jobs/once-per.js'
import type {Pause} from '../jobs/pause.js'
import type {RunRecord} from '../jobs/records.js'

export interface RunIfLeaderOptions {
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
  /** --holders: how many candidates hold the election at once, and how many runs of a job may overlap. */
  holders: number
  /** --keep-runs: how many records of the job's runs etcd keeps. */
  keepRuns: number
  /** --max-runtime: the command's whole job is stopped once it has run this long. */
  maxRuntimeMs?: number
  /** A --once-per fire that finds nobody leading waits its place in the fleet's spread (not with --jitter, which spreads it already). */
  spread: boolean
  /** --health-cmd: checked once, before this run campaigns; a failure skips. */
  health?: {command: string; timeoutMs: number}
  /** Called as the command starts, with the run's record as written then. */
  onStarted?: (record: RunRecord) => void
  /** Called once this run leads by a candidacy of its own, with the etcd version it leads on. */
  onServerVersion?: (version: string) => void
}

/** Why a run wrote nothing and ran nothing. */
export type Skip =
  /** Another candidate leads (or, with a campaign on this machine, the campaign does not lead). */
  | {kind: 'skipped'; because: 'another-leads'; holding: Candidate[]}
  /** --once-per: a run of this slot already started somewhere. */
  | {kind: 'skipped'; because: 'slot-done'}
  /** A run of this job is still running (or may be), and --wait does not say to wait for it. */
  | {kind: 'skipped'; because: 'job-running'}
  /** The campaign on this machine accepted but did not say hello: frozen, trusted neither way. */
  | {kind: 'skipped'; because: 'campaign-silent'}
  /** elect pause stands for the election or the job (undefined: it ended as it was read again). */
  | {kind: 'skipped'; because: 'paused'; pause?: Pause}
  /** --health-cmd failed: this server does not queue. */
  | {kind: 'skipped'; because: 'unhealthy'; reason: string}

export type RunIfLeaderResult =
  | Skip
  | {kind: 'timed-out'}
  | {kind: 'interrupted'; signal: NodeJS.Signals}
  | {
      kind: 'ran'
      status: number
      lost?: string
      interruptedBy?: NodeJS.Signals
      overran?: true
      leader: Candidate
      record: RunRecord
      /** Why etcd does not have the run's end: its record still says running, and will read as an end not recorded. */
      unrecorded?: string
    }
  /** The lease or the leadership ended before the command could start: nothing ran. */
  | {kind: 'lost-before-start'; reason: string}

export type Log = (message: string) => void
