import {Args, Flags} from '@oclif/core'
import {BaseCommand, duration} from '../cli/base-command.js'
import {formatDuration} from '../time/duration.js'
import {ElectionKeys} from '../election/keys.js'
import {type ReadRun, readRunsWithStaleness} from '../jobs/records.js'
import {standingPauseLine, standingPauses} from '../jobs/pause.js'
import {ExitCode, exitCodes} from '../contract/exit-codes.js'
import {isInteractive} from '../cli/terminal.js'

/** A record as shown: a run still marked running whose lease is gone ended without saying how. */

export default class Runs extends BaseCommand {
  static summary = 'Show where and when the jobs of an election ran, and how each run ended'
  static description = `Newest first: a table on a terminal, tab-separated lines otherwise, one JSON object per line with --json. Times are those of the clock of the server that ran the job (the VALUE column). A pause that stands (see elect pause) is one line on stderr. A run shown running whose lease is gone ended without recording how (its elect was killed, or cut off from etcd): it is marked stale.

With --succeeded-within, prints nothing and exits 0 if a run succeeded within that time; else exits 3 with one line saying what it found instead. That is the whole of a monitoring check or a cron dead man's switch.`
  static exitCodes = exitCodes([1, 2, 69], {0: 'shown; with --succeeded-within: a run succeeded within it', 3: 'no run succeeded within --succeeded-within'})
  static examples = [
    '<%= config.bin %> runs nightly-report',
    '<%= config.bin %> runs scheduler --job rotate --limit 5 --json',
    '<%= config.bin %> runs nightly-report --succeeded-within 25h || echo late | mail ops',
  ]
  static args = {name: Args.string({required: true, description: 'election name'})}
  static flags = {
    job: Flags.string({helpValue: 'NAME', description: 'only the runs of this job (default: of every job)'}),
    limit: Flags.integer({helpValue: 'N', description: 'show at most this many runs', default: 20, min: 1}),
    json: Flags.boolean({description: 'one JSON object per run'}),
    'succeeded-within': duration({description: 'exit 0 if a run succeeded within this time, else 3 and say what ran instead'}),
  }

  protected async execute(): Promise<number> {
    const {args, flags} = await this.parse(Runs)
    const name = this.electionName(args.name)
    const job = flags.job === undefined ? null : this.electionName(flags.job, 'job name')
    const keys = new ElectionKeys(this.electionPrefix(flags), name)
    const [shown, allPauses] = await this.withEtcd(this.connectionOptions(flags), (client) =>
      Promise.all([readRunsWithStaleness(client, keys, job, flags['succeeded-within'] === undefined ? flags.limit : 0), standingPauses(client, keys)]),
    )
    const pauses = allPauses.filter((pause) => job === null || pause.job === undefined || pause.job === job).map((pause) => standingPauseLine(name, pause))
    if (flags['succeeded-within'] !== undefined) return this.verdict(shown, flags['succeeded-within'], job === null ? name : `job ${job} of ${name}`, pauses)
    for (const pause of pauses) this.say(pause)
    if (flags.json) for (const record of shown) this.data(record)
    else this.table(shown.map(columns), isInteractive(process.stdout))
    return ExitCode.ok
  }

  private verdict(records: ReadRun[], withinMs: number, what: string, pauses: string[]): number {
    const since = Date.now() - withinMs
    if (records.some((record) => record.outcome === 'succeeded' && Date.parse(record.endedAt!) >= since)) return ExitCode.ok
    const last = records[0]
    const lastSuccess = records.find((record) => record.outcome === 'succeeded')
    const found = last ? `the last run ${describe(last)}` : 'no run at all'
    const success = lastSuccess ? `; the last success was on ${lastSuccess.value} at ${lastSuccess.endedAt}` : ''
    this.say(`no run of ${what} succeeded within ${formatDuration(withinMs)}: ${found}${success}${pauses.map((pause) => `; ${pause}`).join('')}`)
    return ExitCode.noSuccess
  }

  /** Aligned under a header on a terminal; tab-separated, without one, for scripts. */
  private table(rows: string[][], aligned: boolean): void {
    if (!aligned) {
      for (const row of rows) this.data(row.join('\t'))
      return
    }
    if (rows.length === 0) return
    const all = [['STARTED', 'JOB', 'VALUE', 'REV', 'OUTCOME', 'STATUS', 'DURATION', 'REASON'], ...rows]
    const widths = all[0].map((_, column) => Math.max(...all.map((row) => row[column].length)))
    for (const row of all)
      this.data(
        row
          .map((cell, column) => cell.padEnd(widths[column]))
          .join('  ')
          .trimEnd(),
      )
  }
}

function columns(record: ReadRun): string[] {
  const outcome = record.stale ? 'end not recorded' : record.outcome
  const took = record.durationMs === null ? '-' : record.durationMs < 1000 ? `${record.durationMs}ms` : `${(record.durationMs / 1000).toFixed(1)}s`
  return [
    record.startedAt,
    record.job ?? '-',
    record.value,
    String(record.rev),
    outcome,
    record.status === null ? '-' : String(record.status),
    took,
    record.reason ?? '',
  ]
}

function describe(record: ReadRun): string {
  const where = `on ${record.value}`
  switch (record.outcome) {
    case 'running':
      return record.stale
        ? `started ${where} at ${record.startedAt}, and its end was not recorded (elect killed, or etcd refused the write)`
        : `is still running ${where} since ${record.startedAt}`
    case 'failed':
      return `failed with status ${record.status} ${where} at ${record.endedAt}`
    case 'lost':
      return `lost its leadership ${where} at ${record.endedAt}: ${record.reason}`
    case 'interrupted':
      return `was interrupted by ${record.reason} ${where} at ${record.endedAt}`
    case 'timed-out':
      return `was stopped ${where} at ${record.endedAt}: ${record.reason}`
    case 'succeeded':
      return `succeeded ${where} at ${record.endedAt}, before the window`
  }
}
