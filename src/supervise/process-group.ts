import {existsSync, readdirSync, readFileSync} from 'node:fs'

/** Sends a signal to every process of a group; false when nobody is left in it. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal)
    return true
  } catch {
    return false // ESRCH: nobody is left in the group
  }
}

/**
 * Whether any process of the group is still alive. A dead member stays a zombie until its parent (init,
 * for orphans) reaps it, and some containers' init reaps late, so kill(-pgid, 0) alone would wait on
 * corpses. /proc tells zombies apart; without /proc, fall back to kill.
 */
export function groupAlive(pgid: number): boolean {
  if (!existsSync('/proc/self/stat')) return signalGroup(pgid, 0)
  return listProcesses().some((info) => info.pgrp === pgid && info.alive)
}

export interface ProcessInfo {
  pid: number
  ppid: number
  pgrp: number
  /** Neither a zombie nor dead. */
  alive: boolean
}

/** Every process /proc shows now. */
export function listProcesses(): ProcessInfo[] {
  const processes: ProcessInfo[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // exited while we looked
    }
    const [state, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    processes.push({pid: Number(entry), ppid: Number(ppid), pgrp: Number(pgrp), alive: state !== 'Z' && state !== 'X'})
  }
  return processes
}
