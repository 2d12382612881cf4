// Watches a holder's command and a rival's from outside both, on one clock, by scanning /proc: the
// only way to say "never overlapped" that holds however late a poll runs. The holder is dead before
// the first poll that finds it gone; the rival started after the last poll that did not find it. So
// (last poll without the rival) - (first poll without the holder) is a strict lower bound of the gap
// between them, and a poll that finds both alive is an overlap, proven.
import {listProcesses} from '../../src/supervise/process-group.js'

export class Observer {
  /** First poll that found none of the holder's processes alive. */
  holderGoneAt?: number
  /** Last poll that found no command under the rival's elect, and the first that did. */
  rivalAbsentAt?: number
  rivalSeenAt?: number
  /** A poll found both alive at once. */
  overlapSeen = false
  private timer?: NodeJS.Timeout

  /**
   * `holder`: the pid of the holder's command, which is also its process group (a process that left
   * the group, as under etcdctl lock, still counts by its pid). `rivalElect`: the pid of the rival's
   * elect; its command is whatever runs under its guard, a grandchild.
   */
  constructor(
    private readonly holder: number,
    private readonly rivalElect: () => number | undefined,
    intervalMs = 10,
  ) {
    this.poll()
    this.timer = setInterval(() => this.poll(), intervalMs)
  }

  /** Polls now; returns whether the holder's command is alive. */
  poll(): boolean {
    const now = Date.now()
    const rows = listProcesses()
    const holderAlive = rows.some((row) => row.alive && (row.pgrp === this.holder || row.pid === this.holder))
    const rivalElect = this.rivalElect()
    const guards = new Set(rows.filter((row) => rivalElect !== undefined && row.ppid === rivalElect).map((row) => row.pid))
    const rivalAlive = rows.some((row) => row.alive && guards.has(row.ppid))
    if (!holderAlive) this.holderGoneAt ??= now
    if (rivalAlive) this.rivalSeenAt ??= now
    else if (this.rivalSeenAt === undefined) this.rivalAbsentAt = now
    if (holderAlive && rivalAlive) this.overlapSeen = true
    if (this.holderGoneAt !== undefined && this.rivalSeenAt !== undefined) this.stop()
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
