// The README's fleet recipe, as written, under a real cron daemon: three simulated servers, each with
// the standing campaign (as its unit runs it) and BusyBox's crond running the README's crontab lines.
// Each server's configuration file stands for its /etc/elect/elect.env (a test on a shared machine
// must not write /etc): ELECT_CONFIG names it in the daemon's environment, which is all a crontab line
// gets, as under cron. SHELL= in the crontab runs each line through a shell that keeps its output,
// which is what cron would mail.
import {type ChildProcess, spawn} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, expect, inject, it} from 'vitest'
import {unpackDebianPackages} from '../build/debian.js'
import {cleanup, elect, electProcess, startElect, tempDir, useOwnCluster, waitFor} from '../harness/cli.js'
import {projectRoot} from '../harness/processes.js'

const cluster = useOwnCluster()
const daemons: ChildProcess[] = []
afterEach(async () => {
  for (const daemon of daemons.splice(0)) daemon.kill('SIGKILL')
  await cleanup()
})

/** BusyBox's static build, from Debian's package, unpacked into .cache. */
function busybox(): string {
  const file = join(projectRoot, '.cache', 'busybox', 'bin', 'busybox')
  if (!existsSync(file)) unpackDebianPackages(['busybox-static'], join(projectRoot, '.cache', 'busybox'))
  return file
}

/** The run-if-leader lines of a crontab the README shows under `heading`: five time fields, then `elect run-if-leader`. */
function readmeCrontab(heading: string): string[] {
  const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf(heading))
  const block = section.slice(0, section.indexOf('\n\n', section.indexOf('# crontab')))
  return block
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^(\S+\s+){5}elect run-if-leader /.test(line))
}

const script = (path: string, text: string) => {
  writeFileSync(path, `#!/bin/sh\n${text}\n`)
  chmodSync(path, 0o755)
}

it.runIf(process.getuid?.() === 0)(
  "runs each minute's jobs once, the fleet's on the leader, and gives cron nothing to mail",
  async () => {
    // Both of the README's crontabs at once: the first cron job's (standalone runs) and the fleet's.
    const first = readmeCrontab('## Your first cron job')
    const fleet = readmeCrontab('### A standing leader for a fleet')
    expect([first.length, fleet.length]).toEqual([2, 3])
    const lines = [...first, ...fleet]
    const everyMinute = first.filter((line) => line.startsWith('* * * * *'))
    expect(everyMinute).toHaveLength(1)
    const sweepName = everyMinute[0].split(/\s+/)[7]
    const daemon = busybox()
    const ran = join(tempDir(), 'ran')
    // `elect` on cron's PATH, as the package installs it.
    const shims = tempDir()
    const [file, args] = electProcess()
    script(join(shims, 'elect'), `exec '${file}' ${args.map((arg) => `'${arg}'`).join(' ')} "$@"`)
    const servers = ['web-1', 'web-2', 'web-3'].map((server) => {
      const dir = tempDir()
      const config = join(dir, 'elect.env')
      // As an operator who read the lease-safety warning of an older etcd (the matrix runs 3.4.23 and
      // 3.5.16) and accepted that version: the first crontab's runs lead by themselves, and warn.
      const settings = [
        `ELECT_ENDPOINTS=${cluster().endpoints.join(',')}`,
        `ELECT_RUNTIME_DIR=${join(dir, 'run')}`,
        `ELECT_ACCEPT_ETCD_VERSION=${inject('etcdVersion')}`,
      ]
      writeFileSync(config, settings.join('\n'))
      // The jobs the README names, as /usr/local/bin/*.sh on this server.
      const bin = join(dir, 'bin')
      mkdirSync(bin)
      const jobs = new Set(lines.map((line) => /\/usr\/local\/bin\/(\S+)\.sh/.exec(line)![1]))
      for (const job of jobs) script(join(bin, `${job}.sh`), `echo "${job} ${server} $ELECT_KEY $(date +%H:%M) $ELECT_NAME" >> '${ran}'`)
      const mailbox = join(dir, 'mailbox')
      script(join(dir, 'mailing-shell'), `exec /bin/sh "$@" >> '${mailbox}' 2>&1`)
      mkdirSync(join(dir, 'crontabs'))
      writeFileSync(
        join(dir, 'crontabs', 'root'),
        [`SHELL=${join(dir, 'mailing-shell')}`, ...lines.map((line) => line.replaceAll('/usr/local/bin/', `${bin}/`)), ''].join('\n'),
      )
      return {server, dir, config, mailbox}
    })
    // The units: `elect campaign scheduler` with what their EnvironmentFile= gives, the same file.
    // They stand until the test ends: through the wait for the minute, which may take most of one.
    for (const {config} of servers)
      void startElect(['campaign', 'scheduler'], {env: {ELECT_ENDPOINTS: undefined, ELECT_RUNTIME_DIR: undefined, ELECT_CONFIG: config}, timeoutMs: 150_000})
    expect(await waitFor(async () => (await elect(['who-leads', 'scheduler'])).exitCode === 0)).toBe(true)
    for (const {dir, config} of servers) {
      const crond = spawn(daemon, ['crond', '-f', '-c', join(dir, 'crontabs'), '-L', join(dir, 'crond.log')], {
        env: {PATH: `${shims}:/usr/bin:/bin`, ELECT_CONFIG: config},
        stdio: 'ignore',
      })
      daemons.push(crond)
    }
    // The next minute's fire, and its run (cron fires at the minute's start; elect takes a second or two).
    expect(await waitFor(() => existsSync(ran) && readFileSync(ran, 'utf8').includes(' scheduler\n'), 80_000, 200)).toBe(true)
    const firstMinute = readFileSync(ran, 'utf8').split('\n')[0].split(' ')[3]
    // Every server's fire of that minute has ended once the next few seconds pass with nothing new.
    await new Promise((resolve) => setTimeout(resolve, 8000))
    const ofMinute = readFileSync(ran, 'utf8')
      .split('\n')
      .filter((line) => line.split(' ')[3] === firstMinute)
    // The first cron job's every-minute line ran once, on one server of three.
    expect(ofMinute.filter((line) => line.endsWith(` ${sweepName}`))).toHaveLength(1)
    const runs = ofMinute.filter((line) => line.endsWith(' scheduler'))
    const reports = runs.filter((line) => line.startsWith('report '))
    expect(reports).toHaveLength(1)
    // Under the leader's campaign (its key), and each job that fired ran on that one server.
    const leader = JSON.parse((await elect(['who-leads', 'scheduler', '--json'])).stdout).leader.key as string
    expect(reports[0].split(' ')[2]).toBe(leader)
    expect(new Set(runs.map((line) => line.split(' ')[1])).size).toBe(1)
    for (const {mailbox} of servers) expect(existsSync(mailbox) ? readFileSync(mailbox, 'utf8') : '').toBe('')
  },
  150_000,
)
