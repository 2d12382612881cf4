// The bundle of the single executables (npm run dist, loaded by test/build/sea-main.cjs): Node, this bundle and
// nothing else, so there is no package.json to read and no file to require; the build inlines the
// package.json.
import {dirname, relative} from 'node:path'
import type {PJSON} from '@oclif/core/interfaces'
import {run} from './main.js'

export {COMMANDS, commandNotFound, ElectHelp} from './main.js'

declare const ELECT_PACKAGE_JSON: PJSON

export function main(): Promise<void> {
  // oclif requires the file that package.json names to find the commands: here the executable, as
  // which the bundle answers (test/build/bundle.ts).
  const root = dirname(process.execPath)
  const self = `./${relative(root, process.execPath)}`
  const pjson: PJSON = {
    ...ELECT_PACKAGE_JSON,
    oclif: {
      ...ELECT_PACKAGE_JSON.oclif,
      commands: {strategy: 'explicit', target: self, identifier: 'COMMANDS'},
      hooks: {command_not_found: {target: self, identifier: 'commandNotFound'}},
      helpClass: {target: self, identifier: 'ElectHelp'},
    },
  }
  // As bin/run.cjs: gRPC's TLS server name warning is for elect's developers, not its users.
  process.noDeprecation = true
  return run(process.execPath, {root, pjson, isRoot: true})
}
