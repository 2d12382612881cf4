import type {Hook} from '@oclif/core'
import {report} from './errors.js'
import {UsageError} from '../contract/exit-codes.js'
import {closest} from './suggest.js'

// oclif's own message ("› Error: command frobnicate:x not found") is not how elect speaks.
const hook: Hook<'command_not_found'> = async function (options) {
  const known = options.config.commands.map((command) => command.id).filter((id) => id !== 'help' && !id.startsWith('autocomplete'))
  // oclif goes on to its own message unless the process ends here.
  const given = options.id.split(':')[0]
  const meant = closest(given, known)
  process.exit(
    report(new UsageError(`unknown command "${given}"${meant ? ` (did you mean ${meant}?)` : ''}: use ${known.sort().join(', ')} (see elect --help)`)),
  )
}

export default hook
