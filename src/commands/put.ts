import {Args} from '@oclif/core'
import {readFileSync} from 'node:fs'
import {exitCodes} from '../contract/exit-codes.js'
import {WriteCommand} from './write-command.js'

export default class Put extends WriteCommand {
  static summary = 'Write a key to etcd; with --fenced, only while the job still leads'
  static description = `Inside a job, with --fenced, the write is one transaction that succeeds only while the leadership the job runs under holds: its leader key (ELECT_KEY) still the one made at its fencing token (ELECT_REV). Fenced out, nothing is written and it exits 3. A whole server frozen past its lease (a paused VM) runs on for a moment when it wakes; a fenced write is refused then. Without VALUE, the value is read from stdin. elect's own keys are refused.`
  static exitCodes = exitCodes([1, 2, 69], {0: 'written', 3: 'fenced out: the leadership no longer holds, nothing written'})
  static examples = [
    '<%= config.bin %> put --fenced reports/nightly/last "$(date -u +%FT%TZ)"',
    'date -u +%FT%TZ | <%= config.bin %> put --fenced reports/nightly/finished',
  ]
  static args = {
    key: Args.string({required: true, description: 'the key'}),
    value: Args.string({description: 'its value (default: stdin)'}),
  }
  static flags = {...WriteCommand.fencedFlag}

  protected async execute(): Promise<number> {
    const {args, flags} = await this.parse(Put)
    const value = args.value ?? readFileSync(0, 'utf8')
    return this.applyWrites(flags, [{put: args.key, value}])
  }
}
