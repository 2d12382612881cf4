import {Args, Flags} from '@oclif/core'
import {BaseCommand, duration, thisHost} from '../cli/base-command.js'
import {Election} from '../election/election.js'
import {resignLeader} from '../leadership/resign.js'
import {ExitCode, exitCodes} from '../contract/exit-codes.js'

export default class Resign extends BaseCommand {
  static summary = 'Ask the leader of an election to step down'
  static description = `Asks the leader whose value is --value (default: this host's name) to step down, and waits until its key is gone. The holder stops its command first and then deletes its key, so the next leader never overlaps it. With --force and no --value, whoever leads is asked; if it does not answer within --timeout, its key is deleted anyway (see the README for what that risks).`
  static exitCodes = exitCodes([1, 2, 69], {
    0: 'the leader stepped down (or its key was deleted, with --force)',
    3: 'nothing to resign: the one named does not lead',
    124: 'the leader did not step down within --timeout',
  })
  static examples = [
    '<%= config.bin %> resign nightly-report',
    '<%= config.bin %> resign nightly-report --value web-3 --timeout 30s',
    '<%= config.bin %> resign nightly-report --force',
  ]
  static args = {name: Args.string({required: true, description: 'election name'})}
  static flags = {
    value: Flags.string({helpValue: 'TEXT', description: 'resign only if this value leads (default: host name; with --force: any leader)'}),
    force: Flags.boolean({description: "delete the leader's key if it does not step down within --timeout"}),
    timeout: duration({description: 'how long to wait for the leader to step down', default: 10_000, defaultHelp: async () => '10s'}),
    json: Flags.boolean({description: 'print the outcome as JSON'}),
  }

  protected async execute(): Promise<number> {
    const {args, flags} = await this.parse(Resign)
    const name = this.electionName(args.name)
    const wanted = flags.value === undefined ? (flags.force ? undefined : thisHost()) : this.candidateValue(flags.value)
    const resignation = await this.withEtcd(this.connectionOptions(flags), (client) =>
      resignLeader(new Election(client, this.electionPrefix(flags), name), name, {
        wanted,
        force: flags.force,
        timeoutMs: flags.timeout,
        by: `${thisHost()}:${process.pid}`,
      }),
    )
    if (flags.json) this.data(resignation)
    else this.say(`${resignation.value} ${resignation.forced ? 'was removed as' : 'stepped down as'} leader of ${name}`)
    return ExitCode.ok
  }
}
