// The one place errors become exit codes and the line a user reads: every command's catch, and the
// hook for a command that does not exist, report through here.
import {type ConnectionOptions, usesTls} from '../etcd/connection.js'
import {describeUnavailable} from '../etcd/errors.js'
import {ElectError, ExitCode} from '../contract/exit-codes.js'
import {closest} from './suggest.js'

export interface Failure {
  code: number
  /** One line (two for a parse error, with where to read more); none for a code of 0. */
  message?: string
  /** An error nobody expected: its stack is worth showing with ELECT_DEBUG. */
  unexpected: boolean
}

/**
 * What an error thrown by a command means for its user: an ElectError says so itself; etcd that
 * cannot be used at all is 69 with its reason; oclif's parse errors keep their exit code in one line;
 * anything else is 1.
 */
export function failureOf(error: Error & {oclif?: {exit?: number}}, commandId?: string, connection?: ConnectionOptions, flagNames: string[] = []): Failure {
  if (error instanceof ElectError)
    return {code: error.exitCode, message: error.exitCode === ExitCode.usage ? oneLine(error.message) : firstLine(error.message), unexpected: false}
  // Only a command that has its connection can have met etcd (and a local socket's ECONNREFUSED is not etcd's).
  const unavailable = connection && describeUnavailable(error, connection.endpoints, usesTls(connection))
  if (unavailable) return {code: ExitCode.unavailable, message: unavailable, unexpected: false}
  const parseExit = error.oclif?.exit
  if (parseExit !== undefined)
    return {
      code: parseExit,
      message: parseExit === 0 ? undefined : `${oneLine(error.message)}${flagHint(error.message, flagNames)}\nSee: elect ${commandId} --help`,
      unexpected: false,
    }
  return {code: ExitCode.error, message: firstLine(error.message).replace(GRPC_STATUS, ''), unexpected: true}
}

/** gRPC's status, ahead of a message ("8 RESOURCE_EXHAUSTED: "): nothing an operator can act on. */
const GRPC_STATUS = /^\d+ [A-Z_]+: /

/** A misspelt flag's likely meaning, as " (did you mean --json?)". */
function flagHint(message: string, flagNames: string[]): string {
  const given = /^Nonexistent flags?: --([\w-]+)/.exec(message)?.[1]
  const meant = given === undefined ? undefined : closest(given, flagNames)
  return meant ? ` (did you mean --${meant}?)` : ''
}

/** Writes the failure's line on stderr and returns its exit code. */
export function report(error: Error, commandId?: string, connection?: ConnectionOptions, flagNames?: string[]): number {
  const failure = failureOf(error, commandId, connection, flagNames)
  if (failure.code === 0) return 0
  process.stderr.write(`elect: ${failure.message}\n`)
  if (failure.unexpected && process.env.ELECT_DEBUG) process.stderr.write(`${error.stack}\n`)
  return failure.code
}

function firstLine(message: string): string {
  return message.split('\n')[0]
}

/**
 * oclif's parse errors span lines ("Parsing --ttl\n\t<why>\nSee more help with --help"): make them
 * one, naming the flag once ("--ttl: <why>", or just <why> where it names the flag itself).
 */
function oneLine(message: string): string {
  return message
    .split('\n')
    .filter((line) => !/^See more help with/.test(line))
    .map((line) => line.trim())
    .join(' ')
    .replace(/^Parsing (--\S+)\s+(\1\b)?/, (_parsing, flag: string, namedAgain?: string) => (namedAgain ? flag : `${flag}: `))
    .replace(/\s+/g, ' ')
}

/**
 * Node's own warnings (a timer it had to adjust, an API it deprecates) are about elect's code, which
 * a user cannot act on, and each would be a line in every cron mail: shown with ELECT_DEBUG alone.
 */
export function hideNodeWarnings(): void {
  if (!process.env.ELECT_DEBUG) process.removeAllListeners('warning')
}
