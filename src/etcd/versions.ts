// The etcd server versions the promise holds on. It rests on etcd never ending a lease early, and
// etcd has fixed two bugs that do exactly that; a server without the fixes can let another elect
// lead while a job runs, whatever elect does.
import {readFileSync} from 'node:fs'
import type * as Http from 'node:http'
import type {Etcd3} from 'etcd3'
import {type ConnectionOptions, connectionOf, usesTls} from './connection.js'

export interface LeaseBug {
  issue: string
  what: string
  /** The first fixed release of each minor line that has one; lines after the last listed are fixed. */
  fixedIn: string[]
}

export const LEASE_BUGS: LeaseBug[] = [
  {issue: 'etcd-io/etcd#15247', what: 'an old leader revokes leases that are being renewed', fixedIn: ['3.4.31', '3.5.13']},
  {issue: 'etcd-io/etcd#14758', what: 'a keepalive acknowledged after its lease was revoked', fixedIn: ['3.4.38', '3.5.23', '3.6.5']},
]

type Version = [major: number, minor: number, patch: number]

function parse(version: string): Version | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version)
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined
}

function before(a: Version, b: Version): boolean {
  for (let index = 0; index < 3; index++) if (a[index] !== b[index]) return a[index] < b[index]
  return false
}

/** The known lease-safety bugs of etcd `version` (as its Status call reports it); none for a version it cannot read. */
export function leaseBugsOf(version: string): LeaseBug[] {
  const running = parse(version)
  if (!running) return []
  return LEASE_BUGS.filter((bug) => {
    const fixes = bug.fixedIn.map((fixed) => parse(fixed)!)
    const sameLine = fixes.find(([major, minor]) => major === running[0] && minor === running[1])
    if (sameLine) return before(running, sameLine)
    // A line without a fix of its own: affected if it came before the first fixed line.
    return before(running, fixes[0])
  })
}

/**
 * The version of the member that answers, or undefined if it does not say. etcd 3.5 shows its
 * status to root alone; any client may read GET /version on the client port, which answers the rest.
 */
export async function serverVersion(client: Etcd3): Promise<string | undefined> {
  try {
    return (await client.maintenance.status()).version
  } catch {
    const connection = connectionOf(client)
    return connection && versionOverHttp(connection)
  }
}

/** GET /version on the first endpoint, with the connection's TLS; undefined if it does not answer in time. */
function versionOverHttp(connection: ConnectionOptions): Promise<string | undefined> {
  const [endpoint] = connection.endpoints
  const tls = usesTls(connection)
  const url = `${endpoint.includes('://') ? endpoint : `${tls ? 'https' : 'http'}://${endpoint}`}/version`
  const read = (file?: string) => (file ? readFileSync(file) : undefined)
  return new Promise((resolve) => {
    const options = {
      timeout: connection.commandTimeoutMs,
      ...(tls && {ca: read(connection.caFile), cert: read(connection.certFile), key: read(connection.keyFile)}),
    }
    // Loaded for this fallback alone, not with elect: together some 2 ms of every process.
    const request = (process.getBuiltinModule(tls ? 'node:https' : 'node:http') as typeof Http).get(url, options, (response) => {
      let body = ''
      response.on('data', (chunk) => (body += chunk))
      response.on('end', () => {
        try {
          resolve((JSON.parse(body) as {etcdserver?: string}).etcdserver)
        } catch {
          resolve(undefined)
        }
      })
    })
    request.on('error', () => resolve(undefined))
    request.on('timeout', () => request.destroy())
  })
}
