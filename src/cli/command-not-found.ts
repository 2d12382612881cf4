import type {Hook} from '@oclif/core'
import {report} from './errors.js'
import {UsageError} from './exit-codes.js'

// oclif's own message ("› Error: command frobnicate:x not found") is not how elect speaks.
const hook: Hook<'command_not_found'> = async function (options) {
  const known = options.config.commands.map((command) => command.id).filter((id) => id !== 'help' && !id.startsWith('autocomplete'))
  // oclif goes on to its own message unless the process ends here.
  process.exit(report(new UsageError(`unknown command "${options.id.split(':')[0]}": use ${known.sort().join(', ')} (see elect --help)`)))
}

export default hook
