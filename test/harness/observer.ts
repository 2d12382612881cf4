// Watches a holder's job and a rival's command from outside both, on one clock, by scanning /proc: the
// only way to say "never overlapped" that holds however late a poll runs. A scan takes time, so each
// bound is taken on its safe side: the holder is dead before the *end* of the first scan that finds it
// gone; the rival started after the *start* of the last scan that did not find it. So (start of the
// last scan without the rival) - (end of the first scan without the holder) is a strict lower bound
// of the gap between them, and a scan that finds both alive is an overlap, proven.
import {environOf, listProcesses, type ProcessInfo} from '../../src/supervise/process-group.js'

/** Tells the processes of one side apart, given every process /proc shows and a reader of environments. */
export type Side = (row: ProcessInfo, rows: ProcessInfo[], environ: (pid: number) => string) => boolean

/** The processes of a group, and the process of that pid (a leader that left its group, as under etcdctl lock). */
export const byGroup =
  (pgid: number): Side =>
  (row) =>
    row.pgrp === pgid || row.pid === pgid

/** Whatever runs under the guards of an elect process: its command's processes, grandchildren of elect. */
export const underElect =
  (electPid: () => number | undefined): Side =>
  (row, rows) => {
    const elect = electPid()
    return elect !== undefined && rows.some((guard) => guard.pid === row.ppid && guard.ppid === elect)
  }

/**
 * Every process whose environment carries `mark` (NAME=VALUE): a job's whole tree, whichever group or
 * session its processes moved into, as long as they keep their environment (the tests' jobs do).
 */
export const byMark =
  (mark: string): Side =>
  (row, _rows, environ) =>
    environ(row.pid).includes(`\0${mark}\0`)

export class Observer {
  /** End of the first scan that found none of the holder's processes alive, after the last that found one. */
  holderGoneAt?: number
  /** Start of the last scan that found one of them alive: it lived at least until then. */
  holderSeenAliveAt?: number
  /** Start of the last scan that found no rival process, and end of the first that found one. */
  rivalAbsentAt?: number
  rivalSeenAt?: number
  /** A scan found both alive at once. */
  overlapSeen = false
  private timer?: NodeJS.Timeout

  constructor(
    private readonly holder: Side,
    private readonly rival: Side,
    intervalMs = 10,
  ) {
    this.poll()
    this.timer = setInterval(() => this.poll(), intervalMs)
  }

  /** Polls now; returns whether the holder's job is alive. */
  poll(): boolean {
    const startedAt = Date.now()
    const rows = listProcesses().filter((row) => row.alive)
    const environs = new Map<number, string>()
    const environ = (pid: number) => {
      if (!environs.has(pid)) environs.set(pid, environOf(pid))
      return environs.get(pid)!
    }
    const holderAlive = rows.some((row) => this.holder(row, rows, environ))
    const rivalAlive = rows.some((row) => this.rival(row, rows, environ))
    const endedAt = Date.now()
    // Gone means gone for good: a scan can miss a process forked while it read (its parent exiting
    // meanwhile), and a later scan that finds it again undoes the verdict.
    if (holderAlive) {
      this.holderSeenAliveAt = startedAt
      this.holderGoneAt = undefined
    } else this.holderGoneAt ??= endedAt
    if (rivalAlive) this.rivalSeenAt ??= endedAt
    else if (this.rivalSeenAt === undefined) this.rivalAbsentAt = startedAt
    if (holderAlive && rivalAlive) this.overlapSeen = true
    return holderAlive
  }

  /** The strict lower bound of the gap between the holder's death and the rival's start, once both happened. */
  get marginMs(): number | undefined {
    if (this.holderGoneAt === undefined || this.rivalSeenAt === undefined || this.rivalAbsentAt === undefined) return undefined
    return this.rivalAbsentAt - this.holderGoneAt
  }

  stop(): void {
    clearInterval(this.timer)
  }
}
