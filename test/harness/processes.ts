// Helpers shared by the tests and the chaos runner; nothing here depends on vitest.
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

export {environOf, groupAlive, listProcesses, signalGroup} from '../../src/supervise/process-group.js'
import {listProcesses} from '../../src/supervise/process-group.js'

/** The clone's top directory. */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
// ELECT_BIN runs another build (say, an older checkout's bin/run.cjs, or a single executable from
// npm run dist) under the same tests, benchmarks and chaos runner.
export const electBin = process.env.ELECT_BIN ?? join(projectRoot, 'bin', 'run.cjs')

/** The file and arguments that start elect with `args`: a .js or .cjs entry through the Node on PATH. */
export function electProcess(...args: string[]): [string, string[]] {
  return /\.c?js$/.test(electBin) ? ['node', [electBin, ...args]] : [electBin, args]
}

/** elect as one line of shell, word-split by sh (a checkout's paths hold no spaces): for a job that runs elect itself. */
export function electCommandLine(): string {
  const [file, args] = electProcess()
  return [file, ...args].join(' ')
}

/**
 * Polls until `check` holds, at most `timeoutMs`; returns whether it did. 20 s by default: a check
 * that spawns elect or etcdctl takes a second or more a round on a busy machine.
 */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 20_000, intervalMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (let attempt = 0; attempt < timeoutMs / intervalMs + 1; attempt++) {
    if (await check()) return true
    if (Date.now() >= deadline) return false
    await sleep(intervalMs)
  }
  return false
}

// A deadline already past sleeps 0 ms: Node 24 prints a TimeoutNegativeWarning for a negative delay
// (the rolling restart's slots, when a restart took longer than its slot, put one in the matrix's log).
export const sleep = (ms: number) => new Promise((done) => setTimeout(done, Math.max(0, ms)))

/**
 * A command for run-if-leader that records "start <ms> <pid> <ELECT_REV> <witness>" in `log` and runs for
 * `seconds`. Only a run of full length records "end <ms> <pid>"; SIGTERM or SIGINT records
 * "stopped <ms> <pid>" and exits 0, or, with `ignoreTerm`, is ignored (so only SIGKILL stops it,
 * recording nothing) and a background child stays in its group. With `finishFile`, it also ends
 * cleanly, recording "end", as soon as that file exists: a run as long as its caller needs.
 *
 * The witness: as its first act, the command tries to lock `witness.lock` beside `log`, and holds the
 * lock for its whole life (its children inherit it, so the kernel releases it only once the whole
 * tree is gone). "free" means that no other recorder's tree beside it was alive at that instant;
 * "held" that one was. With `places` (several holders), it takes one of that many locks: "held" means
 * that many others were alive. Unlike polls of /proc, this holds however close the two are in time.
 */
export function recorder(log: string, seconds = 60, ignoreTerm = false, finishFile?: string, witness: 'take' | 'inherited' = 'take', places = 1): string[] {
  const script = [
    ...(witness === 'inherited'
      ? ['witness=inherited']
      : places === 1
        ? ['exec 9>> "$(dirname "$0")/witness.lock"', 'if flock -n 9; then witness=free; else witness=held; fi']
        : // Several holders: `places` locks, and "held" only when every one is taken (N others alive).
          [
            `witness=held; place=0; while [ $place -lt ${places} ]; do exec 9>> "$(dirname "$0")/witness.$place.lock"; if flock -n 9; then witness=free; break; fi; place=$((place + 1)); done`,
          ]),
    'echo "start $(date +%s%3N) $$ $ELECT_REV $witness" >> "$0"',
    ignoreTerm ? "trap '' TERM INT; sleep 1000 &" : 'trap \'echo "stopped $(date +%s%3N) $$" >> "$0"; exit 0\' TERM INT',
    `end=$(( $(date +%s%3N) + ${Math.round(seconds * 1000)} ))`,
    `while [ "$(date +%s%3N)" -lt "$end" ]${finishFile ? ` && [ ! -e '${finishFile}' ]` : ''}; do sleep 0.05; done`,
    'echo "end $(date +%s%3N) $$" >> "$0"',
  ].join('\n')
  return ['sh', '-c', script, log]
}

/**
 * Runs `argv` holding the witness lock beside `log` from its first instant, so that every process of
 * its tree holds it (what it starts in a group or session of its own too), however the tree is shaped.
 * The recorder inside takes it as 'inherited'.
 */
export function withWitness(log: string, argv: string[], places = 1): string[] {
  // Its output goes nowhere (the recorder writes to its log): a process that an elect under test let
  // escape must not hold that elect's pipes open, and so the trial, until it ends. With several
  // places (holders), it takes the first free of the recorder's locks, and fails if none is.
  const take =
    places === 1
      ? 'exec 9>> "$0"; flock -n 9 || exit 99'
      : `place=0; until [ $place -ge ${places} ]; do exec 9>> "$(dirname "$0")/witness.$place.lock"; flock -n 9 && break; place=$((place + 1)); done; [ $place -lt ${places} ] || exit 99`
  return ['sh', '-c', `${take}; exec "$@" < /dev/null > /dev/null 2>&1`, join(dirname(log), 'witness.lock'), ...argv]
}

/** What a recorder's "start" event says of the witness lock: "free", "held" (see recorder()). */
export function witnessOf(start: {extra: string}): string | undefined {
  return start.extra.split(' ').at(-1)
}

/** Reads a file of lines "<event> <epoch ms> [extra]", as recorder() writes them. */
export function readEvents(file: string): Array<{event: string; at: number; extra: string}> {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [event, at, ...extra] = line.split(' ')
      return {event, at: Number(at), extra: extra.join(' ')}
    })
}

/**
 * Stops a process and everything it started, the root first so that it sees none of it, as a paused VM
 * stops a whole holder: elect, its guard and the job. Returns their pids, for thaw().
 */
export function freezeTree(root: number): number[] {
  const stopped = new Set<number>()
  const tried = new Set<number>()
  const stop = (pid: number) => {
    tried.add(pid)
    try {
      process.kill(pid, 'SIGSTOP')
      stopped.add(pid)
    } catch {
      // gone meanwhile
    }
  }
  stop(root)
  // Three passes: a child forked while its parent was being stopped is found on the next one.
  for (let pass = 0; pass < 3; pass++) {
    const all = listProcesses()
    for (let found = 1; found > 0;) {
      found = 0
      for (const {pid, ppid} of all) {
        if (!stopped.has(ppid) || tried.has(pid)) continue
        stop(pid)
        found++
      }
    }
  }
  return [...stopped]
}

export function thaw(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGCONT')
    } catch {
      // gone
    }
  }
}
