import {Args, Flags} from '@oclif/core'
import {BaseCommand, duration, exitCodesHelp, healthFlags, hook, positiveDuration, signal, thisHost, wait} from '../cli/base-command.js'
import {formatDuration} from '../time/duration.js'
import {delay, startedAtMs} from '../time/clock.js'
import {onceSlot} from '../jobs/once-per.js'
import {UsageError} from '../cli/exit-codes.js'
import {type GuardedRunResult, guardedRun} from '../leadership/run-if-leader.js'
import {HoldersMismatch} from '../election/election.js'
import {UnrunnableHealthCheck} from '../health/health.js'
import {reported} from './run-if-leader/reported.js'
import {leavesRoom, SAFETY_MARGIN_MS} from '../lease/fence.js'
import {Attachment, findLocalCampaign} from '../attach/attachment.js'
import {warnOfLeaseBugs} from '../cli/etcd-version.js'
import {MetricsFile} from '../cli/metrics-file.js'
import {RunHooks} from '../hooks/hooks.js'

export default class RunIfLeader extends BaseCommand {
  static summary = 'Run a command only while this process leads the election'
  static description = `Skips at once, writing nothing, when another candidate leads. Otherwise campaigns and, once elected, runs <cmd> in a process group of its own with ELECT_NAME, ELECT_KEY, ELECT_REV (the fencing token), ELECT_LEASE, ELECT_VALUE and ELECT_RUN_ID set. If leadership is lost, the command's whole job (every process it started, in whatever group or session: a cgroup of its own where elect may make one) gets --kill-signal, then SIGKILL after --kill-grace, and elect exits 75; a guard process does this even if elect itself is killed or frozen. When <cmd> ends, whatever it left running is stopped the same way.

Every run that starts <cmd> leaves a record in etcd of where, when and how it ended (see elect runs); a skip writes nothing. --metrics-file keeps this server's last run and skip for Prometheus.

With --holders N, the N oldest candidates of the election run at once, each under its own key, and a job never runs more than N times at once; every candidate must say the same N. With --health-cmd, a server whose check fails skips instead of campaigning.

Where \`elect campaign <name>\` runs on this machine (same user, etcd and prefix), run-if-leader never campaigns itself: it runs <cmd> under that campaign's leadership when it leads (ELECT_JOB set too), and otherwise skips (or, with --wait, waits for it to lead).

${exitCodesHelp([0, 1, 2, 69, 75, 124, 125, 126, 127, '128+n', 'other'])}`
  static examples = [
    '<%= config.bin %> run-if-leader nightly-report -- /usr/local/bin/report.sh',
    '<%= config.bin %> run-if-leader nightly-report --once-per 1m -- /usr/local/bin/report.sh',
    '<%= config.bin %> run-if-leader deploy --wait 5m -- ./deploy.sh production',
    '<%= config.bin %> run-if-leader scheduler --job rotate --once-per 1h -- /usr/local/bin/rotate.sh',
    '<%= config.bin %> run-if-leader restart-web --holders 2 --wait forever -- systemctl restart web',
  ]
  static usage = '<%= command.id %> NAME [FLAGS] -- CMD [ARGS...]'
  static strict = false
  static args = {name: Args.string({required: true, description: 'election name'})}
  static flags = {
    value: Flags.string({description: 'this candidate\'s value, shown by who-leads (default: host name)'}),
    ttl: duration({description: 'lease TTL: how soon a crashed leader is replaced', default: 10_000, defaultHelp: async () => '10s'}),
    wait: wait({description: 'how long to wait to be elected: 0, a duration, or forever', default: {text: '0', ms: 0}, defaultHelp: async () => '0'}),
    'kill-signal': signal({description: 'signal sent to the command\'s whole job on lost leadership', default: 'SIGTERM'}),
    'kill-grace': duration({description: 'time between --kill-signal and SIGKILL', default: 3000, defaultHelp: async () => '3s'}),
    'max-runtime': positiveDuration({description: 'stop the command\'s whole job as on a lost leadership once it has run this long (exit 125)'}),
    job: Flags.string({description: 'job id (the syntax of names): runs of one job never overlap; different jobs may run at once'}),
    holders: Flags.integer({description: 'how many candidates hold the election at once, the oldest first: up to this many runs of a job overlap; every candidate must say the same', default: 1, min: 1}),
    'once-per': duration({description: 'run at most once per period across all servers (for cron): later runs in the same period skip'}),
    jitter: duration({description: 'wait a random time up to this long before the first etcd request, so a fleet\'s fires spread out; the --once-per slot stays the fire\'s'}),
    'skip-exit-code': Flags.integer({description: 'exit status when skipped because another leads', default: 0, min: 0, max: 255}),
    'keep-runs': Flags.integer({description: 'how many records of the job\'s runs etcd keeps (see elect runs)', default: 20, min: 1}),
    'metrics-file': Flags.string({description: 'write the last run and skip of this job on this server here, for node_exporter\'s textfile collector'}),
    verbose: Flags.boolean({description: 'tell the lifecycle on stderr'}),
    'on-start': hook({description: 'run this (with sh -c) as the command starts, told the run\'s record (JSON on stdin, ELECT_* variables)'}),
    'on-success': hook({description: 'run this once a run that succeeded has released'}),
    'on-failure': hook({description: 'run this once a run that failed, was lost, timed out or was interrupted has released'}),
    'on-skip': hook({description: 'run this when a fire skips, told why'}),
    ...healthFlags(false),
    'hook-timeout': positiveDuration({description: 'kill a hook that runs longer than this (its failure is a line on stderr, never the exit status)', default: 10_000, defaultHelp: async () => '10s'}),
  }

  protected async execute(): Promise<number> {
    // Everything after "--" belongs to the command; oclif never sees it (and parse() consumes this.argv).
    const argv = [...this.argv]
    const separator = argv.indexOf('--')
    const {args, flags} = await this.parse(RunIfLeader, separator === -1 ? argv : argv.slice(0, separator))
    if (separator === -1) throw new UsageError('missing "--" before the command: elect run-if-leader <name> -- <cmd> [args...]')
    const [command, ...commandArgs] = argv.slice(separator + 1)
    if (!command) throw new UsageError('nothing to run after "--": elect run-if-leader <name> -- <cmd> [args...]')
    const name = this.electionName(args.name)
    const job = flags.job === undefined ? undefined : this.electionName(flags.job, 'job name')
    this.leaseTtl(flags.ttl, flags['kill-grace'], () => ttlTooShort('--ttl', flags.ttl, flags['kill-grace']))
    const value = this.candidateValue(flags.value ?? thisHost())
    if (flags['once-per'] === 0) throw new UsageError('--once-per must be longer than 0, as in 1m for a job cron starts every minute')
    if (flags.jitter !== undefined && flags['once-per'] !== undefined && flags.jitter >= flags['once-per'])
      throw new UsageError(`--jitter ${formatDuration(flags.jitter)} must be shorter than --once-per ${formatDuration(flags['once-per'])}, or a fire could run after the next one`)
    // The slot of the fire, not of the moment elect gets to it: start-up and --jitter may cross its end.
    const slot = flags['once-per'] ? onceSlot(flags['once-per'], startedAtMs()) : undefined
    const metrics = flags['metrics-file'] === undefined ? undefined : new MetricsFile(flags['metrics-file'], {name, job: job ?? ''})
    const unwritable = metrics?.whyUnwritable()
    if (unwritable) throw new UsageError(`cannot write --metrics-file ${metrics!.path}: ${unwritable}`)
    // Connection flags that cannot work are a usage error before a campaign on this machine is asked.
    const connection = this.connectionOptions(flags)
    const verbose = flags.verbose
    const log = (message: string) => verbose && this.say(message)

    if (flags.jitter) {
      const jitterMs = Math.random() * flags.jitter
      log(`waiting ${Math.round(jitterMs)}ms (--jitter) before the first etcd request`)
      await delay(jitterMs)
    }
    const hooks = new RunHooks({start: flags['on-start'], success: flags['on-success'], failure: flags['on-failure'], skip: flags['on-skip']}, flags['hook-timeout'], (line) => this.say(line))
    const prefix = this.electionPrefix(flags)
    const {campaign, warning} = await findLocalCampaign(prefix, name, CAMPAIGN_HELLO_TIMEOUT_MS)
    if (warning) this.say(warning)
    // The campaign's line is closed whatever happens, or it would keep this process alive.
    const hangUp = () => campaign instanceof Attachment && campaign.close()
    if (campaign instanceof Attachment && !leavesRoom(campaign.hello.ttlMs, flags['kill-grace'])) {
      hangUp()
      throw ttlTooShort("the campaign's --ttl", campaign.hello.ttlMs, flags['kill-grace'])
    }
    try {
      const result: GuardedRunResult = await this.withEtcd(connection, (client) => guardedRun(client, {
        prefix, name, value, ttlMs: flags.ttl, waitMs: flags.wait.ms, job, holders: flags.holders,
        killSignal: flags['kill-signal'], killGraceMs: flags['kill-grace'], callTimeoutMs: connection.commandTimeoutMs, command, args: commandArgs,
        slot, spread: !flags.jitter, keepRuns: flags['keep-runs'], maxRuntimeMs: flags['max-runtime'],
        health: flags['health-cmd'] === undefined ? undefined : {command: flags['health-cmd'], timeoutMs: flags['health-timeout']},
        onStarted: (record) => hooks.started({name, ...record}),
        onServerVersion: (version) => warnOfLeaseBugs(version, (line) => this.say(line)),
      }, log, campaign).catch((error) => {
        throw error instanceof HoldersMismatch || error instanceof UnrunnableHealthCheck ? new UsageError(error.message) : error
      }))
      const run = {name, job, value, command, wait: flags.wait.text, oncePer: flags['once-per'], maxRuntime: flags['max-runtime'], skipExitCode: flags['skip-exit-code'], verbose}
      return await reported(result, run, {metrics, hooks, say: (line) => this.say(line)})
    } finally {
      hangUp()
    }
  }
}

function ttlTooShort(whose: string, ttlMs: number, killGraceMs: number): UsageError {
  return new UsageError(`${whose} ${formatDuration(ttlMs)} must exceed --kill-grace (${formatDuration(killGraceMs)}) plus a ${formatDuration(SAFETY_MARGIN_MS)} safety margin, so the command is dead before the lease can expire`)
}

/** How long a campaign of this machine has to say hello before it counts as frozen. */
const CAMPAIGN_HELLO_TIMEOUT_MS = 2000
