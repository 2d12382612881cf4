// The one module the build bundles (dist/elect.cjs): oclif finds the commands and the hook here by
// name (package.json oclif.commands, strategy "explicit") instead of loading a file per command or
// plugin, so that a process reads one file, and its compiled code can be cached (bin/run.cjs).
import {execute, settings} from '@oclif/core'
import type {LoadOptions} from '@oclif/core/interfaces'
import {commands as helpCommands} from '@oclif/plugin-help'
// @oclif/plugin-autocomplete exports no commands (its issue #846), so they come from their files.
import Autocomplete from '../node_modules/@oclif/plugin-autocomplete/lib/commands/autocomplete/index.js'
import AutocompleteCreate from '../node_modules/@oclif/plugin-autocomplete/lib/commands/autocomplete/create.js'
import AutocompleteScript from '../node_modules/@oclif/plugin-autocomplete/lib/commands/autocomplete/script.js'
import Campaign from './commands/campaign.js'
import CheckReady from './commands/check.js'
import Del from './commands/del.js'
import Holds from './commands/holds.js'
import Pause from './commands/pause.js'
import Put from './commands/put.js'
import Resign from './commands/resign.js'
import Resume from './commands/resume.js'
import RunIfLeader from './commands/run-if-leader.js'
import Runs from './commands/runs.js'
import Txn from './commands/txn.js'
import WhoLeads from './commands/who-leads.js'
import commandNotFound from './cli/command-not-found.js'
import {ElectHelp} from './cli/help.js'
import {hideNodeWarnings} from './cli/errors.js'

// help and autocomplete are bundled too, rather than loaded as plugins from node_modules at every start.
export const COMMANDS = {
  campaign: Campaign,
  check: CheckReady,
  del: Del,
  holds: Holds,
  pause: Pause,
  put: Put,
  resign: Resign,
  resume: Resume,
  'run-if-leader': RunIfLeader,
  runs: Runs,
  txn: Txn,
  'who-leads': WhoLeads,
  ...helpCommands,
  autocomplete: Autocomplete,
  'autocomplete:create': AutocompleteCreate,
  'autocomplete:script': AutocompleteScript,
}
export {commandNotFound, ElectHelp}

/**
 * Runs the command line. `dir` is any path inside the package (oclif finds package.json from it),
 * unless `loadOptions` gives the package.json itself, as the single executable does.
 */
export async function run(dir: string, loadOptions?: LoadOptions): Promise<void> {
  hideNodeWarnings()
  // Always the bundle: with NODE_ENV=development or test, oclif would otherwise look for the
  // TypeScript sources (which an installed package does not have) and warn.
  settings.enableAutoTranspile = false
  await execute({dir, loadOptions})
}
