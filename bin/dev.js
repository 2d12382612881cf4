#!/usr/bin/env -S node --import tsx --no-warnings
// Runs the TypeScript sources directly, for development: the commands come from src/main.ts, not
// from the bundle that package.json names.
import {readFileSync} from 'node:fs'
import {execute, settings} from '@oclif/core'

const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const fromSources = (identifier) => ({strategy: 'explicit', target: './src/main.ts', identifier})
pjson.oclif.commands = fromSources('COMMANDS')
pjson.oclif.hooks = {command_not_found: fromSources('commandNotFound')}
settings.enableAutoTranspile = false
const root = new URL('..', import.meta.url).pathname
await execute({dir: import.meta.url, loadOptions: {root, pjson, isRoot: true}})
process.exit()
