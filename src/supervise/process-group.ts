import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'

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

/** A run's job as the guard made it: see guard.sh. */
export interface Job {
  /** The command's pid, which leads its process group. */
  pid: number
  /** The ELECT_RUN_ID every process of the job inherits. */
  runId: string
  /** The job's cgroup directory, where the guard could make one. */
  cgroup?: string
}

/**
 * The live processes of a job, by the guard's search: the command's group, every process whose
 * environment carries the run id, the processes of its cgroup, and their descendants.
 */
export function jobMembers(job: Job, processes = listProcesses()): number[] {
  const mark = `\0ELECT_RUN_ID=${job.runId}\0`
  const inCgroup = new Set(job.cgroup ? cgroupProcesses(job.cgroup) : [])
  const members = new Set(
    processes.filter((info) => info.pgrp === job.pid || inCgroup.has(info.pid) || environOf(info.pid).includes(mark)).map((info) => info.pid),
  )
  for (let added = true; added;) {
    added = false
    for (const info of processes)
      if (!members.has(info.pid) && members.has(info.ppid)) {
        members.add(info.pid)
        added = true
      }
  }
  const alive = new Set(processes.filter((info) => info.alive).map((info) => info.pid))
  return [...members].filter((pid) => alive.has(pid))
}

/**
 * Kills every process of a job at once: the guard's last act, done by elect where the guard is gone.
 * The cgroup first, then whatever left it (root may move a process to another cgroup) by the search.
 */
export function killJob(job: Job): void {
  if (job.cgroup) {
    try {
      writeFileSync(`${job.cgroup}/cgroup.kill`, '1')
    } catch {
      // no cgroup.kill before Linux 5.14: one by one, below
    }
  }
  signalGroup(job.pid, 'SIGKILL')
  for (const pid of jobMembers(job)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone meanwhile
    }
  }
}

function cgroupProcesses(cgroup: string): number[] {
  try {
    return readFileSync(`${cgroup}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number)
  } catch {
    return []
  }
}

/** A process's environment as it was started, NUL-framed on both sides; empty where it may not be read. */
export function environOf(pid: number): string {
  try {
    return `\0${readFileSync(`/proc/${pid}/environ`, 'latin1')}`
  } catch {
    return ''
  }
}
