import type {Hook} from '@oclif/core'

// oclif's own message ("› Error: command frobnicate:x not found") is not how elect speaks.
const hook: Hook<'command_not_found'> = async function (options) {
  const known = options.config.commands.map((command) => command.id).filter((id) => id !== 'help' && !id.startsWith('autocomplete'))
  process.stderr.write(`elect: unknown command "${options.id.split(':')[0]}": use ${known.sort().join(', ')} (see elect --help)\n`)
  process.exit(2)
}

export default hook
