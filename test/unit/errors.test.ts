// src/cli/errors.ts: the one place an error becomes an exit code and the line a user reads.
import {describe, expect, it} from 'vitest'
import {failureOf} from '../../src/cli/errors.js'
import {ElectError, UsageError} from '../../src/contract/exit-codes.js'
import {EtcdUnavailableError} from '../../src/etcd/errors.js'

describe('errors become exit codes', () => {
  const connection = {endpoints: ['127.0.0.1:2379'], dialTimeoutMs: 2000, commandTimeoutMs: 5000}

  it('an ElectError says its own code, in its first line; a usage error in one line', () => {
    expect(failureOf(new ElectError('gone\nmore', 75))).toEqual({code: 75, message: 'gone', unexpected: false})
    expect(failureOf(new UsageError('bad\n  value'))).toEqual({code: 2, message: 'bad value', unexpected: false})
  })

  it('an oclif parse error keeps its code, in one line with where to read more', () => {
    const parse = Object.assign(new Error('Parsing --ttl\n\t"x" is not a duration\nSee more help with --help'), {oclif: {exit: 2}})
    expect(failureOf(parse, 'campaign')).toEqual({code: 2, message: '--ttl: "x" is not a duration\nSee: elect campaign --help', unexpected: false})
  })

  it('etcd that cannot be used is 69, but only for a command that connected', () => {
    const unusable = new EtcdUnavailableError('etcd is unreachable at 127.0.0.1:2379')
    expect(failureOf(unusable, 'who-leads', connection)).toMatchObject({code: 69, message: 'etcd is unreachable at 127.0.0.1:2379'})
    expect(failureOf(unusable, 'who-leads')).toMatchObject({code: 1, unexpected: true})
  })

  it('anything else is 1, unexpected, in its first line', () => {
    expect(failureOf(new Error('boom\nat somewhere'))).toEqual({code: 1, message: 'boom', unexpected: true})
  })
})
