// The guard (src/supervise/guard.sh) on its own, where a test needs to hold it at one line: its
// fd 4 is a FIFO the test has filled, so that its report "started <pid>" blocks until the test reads.
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import {closeSync, constants, openSync, readSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import type {Writable} from 'node:stream'
import {afterEach, expect, it} from 'vitest'
import {guardScript} from '../../src/supervise/guard-script.js'
import {cleanup, tempDir, waitFor} from '../harness/cli.js'
import {signalGroup} from '../harness/processes.js'

let guard: ChildProcess | undefined
const fds: number[] = []
afterEach(async () => {
  // The guard leads a process group of its own here, with its watcher in it: both go, pass or fail.
  if (guard?.pid) signalGroup(guard.pid, 'SIGKILL')
  for (const fd of fds.splice(0)) closeSync(fd)
  await cleanup()
})

/** Drains what the FIFO holds now; returns it as text. */
function drain(fd: number): string {
  const chunk = Buffer.alloc(65_536)
  let text = ''
  for (let round = 0; round < 100; round++) {
    try {
      const read = readSync(fd, chunk)
      if (read === 0) break
      text += chunk.subarray(0, read).toString('latin1')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break
      throw error
    }
  }
  return text
}

it('reports a command that ended before the guard could watch it, instead of waiting for ever', async () => {
  const fifo = join(tempDir(), 'reports')
  execFileSync('mkfifo', [fifo])
  const reports = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK)
  fds.push(reports)
  // A full pipe: the guard's first report blocks until the test reads.
  execFileSync('sh', ['-c', `head -c 65536 /dev/zero > '${fifo}'`])
  const guardEnd = openSync(fifo, constants.O_WRONLY)
  fds.push(guardEnd)
  guard = spawn('bash', ['-c', 'eval "$ELECT_GUARD"', 'test'], {
    stdio: ['ignore', 'inherit', 'inherit', 'pipe', guardEnd],
    env: {...process.env, ELECT_GUARD: guardScript},
    detached: true,
  })
  const uptimeCs = Math.round(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 100)
  // A deadline 1000 s away: only the command's end can end this guard within the test.
  ;(guard.stdio[3] as Writable).write(`command SIGTERM 100 1\ntrue\0env 0\nrun ${uptimeCs + 100_000}\n`)
  // `true` ends, and bash reaps it, while the guard is held at "started".
  await new Promise((resolve) => setTimeout(resolve, 500))
  // The filler, whole: whatever the guard reported comes after it.
  const filler = Buffer.alloc(65_536, 1)
  expect(readSync(reports, filler)).toBe(65_536)
  expect(filler.every((byte) => byte === 0)).toBe(true)
  let said = ''
  expect(await waitFor(() => /^started \d+ \S+\nexited 0\n$/.test((said += drain(reports))), 5000)).toBe(true)
  expect(await waitFor(() => guard!.exitCode !== null, 2000)).toBe(true)
})
