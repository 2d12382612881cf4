import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {ExitCode, exitCodes, UsageError} from '../contract/exit-codes.js'
import {jobLeadership, noLongerHolds} from '../leadership/fencing.js'

export default class Holds extends BaseCommand {
  static summary = 'Say whether the leadership a job runs under still holds'
  static description = `Inside a job of run-if-leader (or of a campaign), before a step that cannot be undone: exits 0 while the leader key the job runs under (ELECT_KEY) is still the one made at its fencing token (ELECT_REV), read from etcd as a quorum holds it now; exits 3, saying what became of it, once it is not. A job whose whole machine was frozen past its lease learns here that another server may lead.`
  static exitCodes = exitCodes([1, 2, 69], {0: 'the leadership holds: ELECT_REV is current', 3: 'it no longer holds: the key is gone or was made again'})
  static examples = [
    '<%= config.bin %> holds && mv /srv/report.tmp /srv/report.csv',
    '<%= config.bin %> holds --leader-key elect/nightly-report/694d86dd42307e0b --rev 81644',
  ]
  static flags = {
    'leader-key': Flags.string({helpValue: 'KEY', description: 'the leader key (default: ELECT_KEY, as a job has it)'}),
    rev: Flags.integer({helpValue: 'N', description: 'its create revision, the fencing token (default: ELECT_REV)', min: 1}),
  }

  protected async execute(): Promise<number> {
    const {flags} = await this.parse(Holds)
    const job = jobLeadership(process.env)
    const key = flags['leader-key'] ?? job?.key
    const createRevision = flags.rev ?? job?.createRevision
    if (!key || createRevision === undefined)
      throw new UsageError(
        'elect holds checks the leadership a job runs under: run it inside run-if-leader (ELECT_KEY and ELECT_REV set), or give --leader-key and --rev',
      )
    const gone = await this.withEtcd(this.connectionOptions(flags), (client) => noLongerHolds(client, {key, createRevision}))
    if (!gone) return ExitCode.ok
    this.say(`the leadership at ${key} (token ${createRevision}) no longer holds: ${gone}`)
    return ExitCode.noLongerHolds
  }
}
