// src/cli/connection-flags.ts: the connection that the flags and the environment describe, refused before any
// dial when it cannot work.
import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {type ConnectionFlags, connectionOptionsFrom} from '../../src/cli/connection-flags.js'

const dir = mkdtempSync(join(tmpdir(), 'elect-options-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const timeouts: ConnectionFlags = {'dial-timeout': 2000, 'command-timeout': 5000}
const file = (name: string, text: string, mode = 0o600) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  chmodSync(path, mode)
  return path
}

describe('connection options', () => {
  it('take the flag, else ELECT_*, else ETCDCTL_*, else 127.0.0.1:2379', () => {
    expect(connectionOptionsFrom(timeouts, {}).endpoints).toEqual(['127.0.0.1:2379'])
    expect(connectionOptionsFrom(timeouts, {ETCDCTL_ENDPOINTS: 'b:2'}).endpoints).toEqual(['b:2'])
    expect(connectionOptionsFrom(timeouts, {ELECT_ENDPOINTS: 'a:1', ETCDCTL_ENDPOINTS: 'b:2'}).endpoints).toEqual(['a:1'])
    expect(connectionOptionsFrom({...timeouts, endpoints: 'c:3'}, {ELECT_ENDPOINTS: 'a:1'}).endpoints).toEqual(['c:3'])
  })

  it('read endpoints as etcdctl does: a scheme in any case, a trailing slash, spaces after commas, IPv6', () => {
    const {endpoints} = connectionOptionsFrom({...timeouts, endpoints: 'HTTP://a:1/, https://b:2 ,[::1]:2379'}, {})
    expect(endpoints).toEqual(['http://a:1', 'https://b:2', '[::1]:2379'])
  })

  it('refuse what cannot work in one line, before any dial', () => {
    const refused =
      (flags: Partial<ConnectionFlags>, env: NodeJS.ProcessEnv = {}) =>
      () =>
        connectionOptionsFrom({...timeouts, ...flags}, env)
    expect(refused({endpoints: 'etcd-1'})).toThrow('malformed endpoint "etcd-1": use host:port, as in 127.0.0.1:2379')
    expect(refused({endpoints: ' , '})).toThrow('no etcd endpoint given: use --endpoints host:port')
    expect(refused({cert: file('cert.pem', '-----BEGIN CERTIFICATE-----\n')})).toThrow('--cert and --key go together: give both for mutual TLS, or neither')
    expect(refused({cacert: file('ca.txt', 'not a certificate')})).toThrow(`--cacert ${dir}/ca.txt is not a PEM file with a certificate in it`)
    expect(refused({password: 'secret'})).toThrow('a password needs a user: add --user')
  })

  it('take a password from --user name:password, the environment, or a private --password-file, which wins', () => {
    expect(connectionOptionsFrom({...timeouts, user: 'alice:s3:cret'}, {})).toMatchObject({user: 'alice', password: 's3:cret'})
    expect(connectionOptionsFrom(timeouts, {ELECT_USER: 'bob', ETCDCTL_PASSWORD: 'pw'})).toMatchObject({user: 'bob', password: 'pw'})
    const passwordFile = file('password', 'from-file\n')
    expect(connectionOptionsFrom({...timeouts, user: 'bob', 'password-file': passwordFile}, {ELECT_PASSWORD: 'pw'})).toMatchObject({
      user: 'bob',
      password: 'from-file',
    })
    const open = file('open-password', 'x\n', 0o644)
    expect(() => connectionOptionsFrom({...timeouts, user: 'bob', 'password-file': open}, {})).toThrow(
      `${open} (--password-file) holds a password and others may read it (mode 0644): chmod 600 ${open}, as ssh asks of a key`,
    )
  })

  it('carry the time-outs as given', () => {
    expect(connectionOptionsFrom(timeouts, {})).toMatchObject({dialTimeoutMs: 2000, commandTimeoutMs: 5000})
  })
})
