import {Args, Flags} from '@oclif/core'
import {BaseCommand, duration, healthFlags, hook, positiveDuration, signal, thisHost, wait} from '../cli/base-command.js'
import {formatDuration} from '../time/duration.js'
import {delay, startedAtMs} from '../time/clock.js'
import {onceSlot} from '../jobs/once-per.js'
import {exitCodes, UsageError} from '../contract/exit-codes.js'
import {runIfLeader} from '../leadership/run-if-leader.js'
import type {RunIfLeaderResult} from '../leadership/run-types.js'
import {presentRunResult} from '../output/run-result.js'
import {ttlExceedsFenceLead, SAFETY_MARGIN_MS} from '../lease/fence.js'
import {Attachment, findLocalCampaign} from '../attach/attachment.js'
import {warnOfLeaseBugs} from '../cli/etcd-version.js'
import {MetricsFile} from '../report/metrics-file.js'
import {RunHooks} from '../report/hooks.js'

export default class RunIfLeader extends BaseCommand {
  static summary = 'Run a command only while this process leads the election'
  static description = `Skips, writing nothing, when another leads (exit 0). Once elected, runs CMD with ELECT_* set (ELECT_REV: the fencing token) and stops its whole job when CMD ends or leadership is lost, even if elect is killed or frozen. Every run leaves a record (elect runs). Under a running \`elect campaign NAME\` on this machine, runs when that campaign leads.`
  static exitCodes = exitCodes([1, 2, 69, 124, 125, 126, 127, '128+n', 'other'], {
    0: 'the command succeeded, or a skip: another leads, the slot ran, a pause',
    75: 'leadership lost: the command was stopped, or never started',
    124: '--wait ran out before leadership was won',
  })
  static examples = [
    '<%= config.bin %> run-if-leader nightly-report -- /usr/local/bin/report.sh',
    '<%= config.bin %> run-if-leader nightly-report --once-per 1m -- /usr/local/bin/report.sh',
    '<%= config.bin %> run-if-leader deploy --wait 5m -- ./deploy.sh production',
  ]
  static usage = '<%= command.id %> NAME [FLAGS] -- CMD [ARGS...]'
  static strict = false
  static args = {name: Args.string({required: true, description: 'election name'})}
  static flags = {
    'once-per': duration({description: 'once per period across all servers; later fires skip'}),
    wait: wait({description: 'how long to wait to lead, or forever', default: {text: '0', ms: 0}, defaultHelp: async () => '0'}),
    job: Flags.string({helpValue: 'NAME', description: 'runs of one job never overlap; other jobs may'}),
    'max-runtime': positiveDuration({description: 'stop the job once it has run this long (exit 125)'}),
    jitter: duration({description: 'first wait a random time up to this long'}),
    ttl: duration({description: 'how soon a crashed leader is replaced', default: 10_000, defaultHelp: async () => '10s'}),
    'kill-signal': signal({description: 'sent to the whole job on a loss', default: 'SIGTERM'}),
    'kill-grace': duration({description: 'then SIGKILL after this long', default: 3000, defaultHelp: async () => '3s'}),
    holders: Flags.integer({helpValue: 'N', description: 'how many candidates lead at once', default: 1, min: 1}),
    value: Flags.string({helpValue: 'TEXT', description: 'this candidate in who-leads (default: host name)'}),
    'skip-exit-code': Flags.integer({helpValue: 'N', description: 'exit status of a skip', default: 0, min: 0, max: 255}),
    'keep-runs': Flags.integer({helpValue: 'N', description: 'run records etcd keeps (elect runs)', default: 20, min: 1}),
    'metrics-file': Flags.string({helpValue: 'FILE', description: 'write the last run and skip here, for node_exporter'}),
    verbose: Flags.boolean({description: 'tell the lifecycle on stderr'}),
    'on-start': hook({description: 'run this (sh -c) as the command starts, told the run'}),
    'on-success': hook({description: 'run this once a run that succeeded has released'}),
    'on-failure': hook({description: 'run this once a failed or stopped run has released'}),
    'on-skip': hook({description: 'run this when a fire skips, told why'}),
    'hook-timeout': positiveDuration({description: 'kill a hook that runs this long', default: 10_000, defaultHelp: async () => '10s'}),
    ...healthFlags(false),
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
      throw new UsageError(
        `--jitter ${formatDuration(flags.jitter)} must be shorter than --once-per ${formatDuration(flags['once-per'])}, or a fire could run after the next one`,
      )
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
    const hooks = new RunHooks(
      {start: flags['on-start'], success: flags['on-success'], failure: flags['on-failure'], skip: flags['on-skip']},
      flags['hook-timeout'],
      (line) => this.say(line),
    )
    const prefix = this.electionPrefix(flags)
    const {campaign, warning} = await findLocalCampaign(prefix, name, CAMPAIGN_HELLO_TIMEOUT_MS)
    if (warning) this.say(warning)
    // The campaign's line is closed whatever happens, or it would keep this process alive.
    const hangUp = () => campaign instanceof Attachment && campaign.close()
    if (campaign instanceof Attachment && !ttlExceedsFenceLead(campaign.hello.ttlMs, flags['kill-grace'])) {
      hangUp()
      throw ttlTooShort("the campaign's --ttl", campaign.hello.ttlMs, flags['kill-grace'])
    }
    try {
      const result: RunIfLeaderResult = await this.withEtcd(connection, (client) =>
        runIfLeader(
          client,
          {
            prefix,
            name,
            value,
            ttlMs: flags.ttl,
            waitMs: flags.wait.ms,
            job,
            holders: flags.holders,
            killSignal: flags['kill-signal'],
            killGraceMs: flags['kill-grace'],
            callTimeoutMs: connection.commandTimeoutMs,
            command,
            args: commandArgs,
            slot,
            spread: !flags.jitter,
            keepRuns: flags['keep-runs'],
            maxRuntimeMs: flags['max-runtime'],
            health: flags['health-cmd'] === undefined ? undefined : {command: flags['health-cmd'], timeoutMs: flags['health-timeout']},
            onStarted: (record) => hooks.started({name, ...record}),
            onServerVersion: (version) => warnOfLeaseBugs(version, (line) => this.say(line)),
          },
          log,
          campaign,
        ),
      )
      const run = {
        name,
        job,
        value,
        command,
        wait: flags.wait.text,
        oncePer: flags['once-per'],
        maxRuntime: flags['max-runtime'],
        skipExitCode: flags['skip-exit-code'],
        verbose,
      }
      return await presentRunResult(result, run, {metrics, hooks, say: (line) => this.say(line)})
    } finally {
      hangUp()
    }
  }
}

function ttlTooShort(whose: string, ttlMs: number, killGraceMs: number): UsageError {
  return new UsageError(
    `${whose} ${formatDuration(ttlMs)} must exceed --kill-grace (${formatDuration(killGraceMs)}) plus a ${formatDuration(SAFETY_MARGIN_MS)} safety margin, so the command is dead before the lease can expire`,
  )
}

/** How long a campaign of this machine has to say hello before it counts as frozen. */
const CAMPAIGN_HELLO_TIMEOUT_MS = 2000
