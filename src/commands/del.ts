import {Args} from '@oclif/core'
import {exitCodes} from '../contract/exit-codes.js'
import {WriteCommand} from './write-command.js'

export default class Del extends WriteCommand {
  static summary = 'Delete a key from etcd; with --fenced, only while the job still leads'
  static description = `Inside a job, with --fenced, the delete is one transaction that succeeds only while the leadership the job runs under holds: its leader key (ELECT_KEY) still the one made at its fencing token (ELECT_REV). Fenced out, nothing is deleted and it exits 3. Deleting a key that does not exist succeeds. elect's own keys are refused.`
  static exitCodes = exitCodes([1, 2, 69], {0: 'deleted, or there was no such key', 3: 'fenced out: the leadership no longer holds, nothing deleted'})
  static examples = ['<%= config.bin %> del --fenced reports/nightly/in-progress']
  static args = {key: Args.string({required: true, description: 'the key'})}
  static flags = {...WriteCommand.fencedFlag}

  protected async execute(): Promise<number> {
    const {args, flags} = await this.parse(Del)
    return this.applyWrites(flags, [{del: args.key}])
  }
}
