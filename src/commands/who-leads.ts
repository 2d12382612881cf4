import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {Election} from '../election/election.js'
import {standingPauseLine} from '../jobs/pause.js'
import {onStopSignals} from '../leadership/signals.js'
import {leaderAndPauses, leadership, queueOf} from '../leadership/who-leads.js'
import {ExitCode, exitCodes} from '../contract/exit-codes.js'

export default class WhoLeads extends BaseCommand {
  static summary = 'Print who leads an election'
  static description = `Prints the leader's value alone on stdout, so $(elect who-leads NAME) works in scripts; a pause that stands (see elect pause) is one line on stderr.`
  static exitCodes = exitCodes([1, 2, 69], {0: 'someone leads (with --is: that one)', 3: 'nobody leads, or not the one --is names'})
  static examples = [
    '<%= config.bin %> who-leads nightly-report',
    'if <%= config.bin %> who-leads nightly-report --is "$(hostname)"; then echo "I lead"; fi',
    '<%= config.bin %> who-leads nightly-report --json',
    '<%= config.bin %> who-leads nightly-report --watch',
  ]
  static args = {name: Args.string({required: true, description: 'election name'})}
  static flags = {
    json: Flags.boolean({description: 'print key, lease, create revision and TTL left, the holders (with --holders), the running jobs and the pauses as JSON'}),
    watch: Flags.boolean({description: 'print the leader now and after every change, one line each (empty: nobody)'}),
    is: Flags.string({helpValue: 'TEXT', description: 'print nothing; exit 0 only if this value leads'}),
    candidates: Flags.boolean({description: 'print the whole queue, the leader first (with --json: which of them hold)'}),
  }

  protected async execute(): Promise<number> {
    const {args, flags} = await this.parse(WhoLeads)
    const name = this.electionName(args.name)
    if (flags.is !== undefined) this.candidateValue(flags.is, '--is')
    return this.withEtcd(this.connectionOptions(flags), async (client) => {
      const election = new Election(client, this.electionPrefix(flags), name)
      if (flags.watch) return this.watch(election, name, flags.json)
      if (flags.candidates) {
        const queue = await queueOf(client, election, name)
        if (flags.json) this.data(queue)
        else for (const candidate of queue.candidates) this.data(candidate.value)
        return queue.candidates.length > 0 ? ExitCode.ok : ExitCode.noLeader
      }
      const read = await leaderAndPauses(client, election)
      const {leader, pauses} = read
      if (flags.json) this.data(await leadership(client, election, name, read))
      if (flags.is !== undefined) return leader?.value === flags.is ? ExitCode.ok : ExitCode.noLeader
      if (!flags.json) {
        if (leader) this.data(leader.value)
        else this.say(`nobody leads ${name}`)
        for (const pause of pauses) this.say(standingPauseLine(name, pause))
      }
      return leader ? ExitCode.ok : ExitCode.noLeader
    })
  }

  /** The leader now and after every change, one line each, until a signal. */
  private async watch(election: Election, name: string, json: boolean): Promise<number> {
    const stop = new AbortController()
    const unlisten = onStopSignals(() => stop.abort())
    try {
      await election.observe((leader) => {
        if (json) this.data({name, leader: leader ? {value: leader.value, key: leader.key, revision: leader.createRevision} : null})
        else this.data(leader?.value ?? '')
      }, stop.signal)
    } finally {
      unlisten()
    }
    return ExitCode.ok
  }
}
