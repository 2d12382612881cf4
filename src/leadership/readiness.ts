// elect check: whether this server is ready to run leader-guarded jobs, one verdict per thing that
// can stand in the way, each tried as a job would meet it and harmlessly (a key of its own on a short
// lease, deleted at once; a watch opened and cancelled; a guard that runs `true`).
import {hostname} from 'node:os'
import type {Etcd3} from 'etcd3'
import {findLocalCampaign} from '../attach/attachment.js'
import {checkPrivateDir, runtimeDir} from '../attach/runtime-dir.js'
import {ElectionKeys, prefixEnd} from '../election/keys.js'
import {type ConnectionOptions, cancelStream, connect, openWatchStream, usesTls} from '../etcd/connection.js'
import {credentialsRefused, describeUnavailable, refusalOf} from '../etcd/errors.js'
import {leaseBugsOf, serverVersion} from '../etcd/versions.js'
import {Supervisor} from '../supervise/supervisor.js'
import {monotonicMs} from '../time/clock.js'

export type Verdict = 'ok' | 'warn' | 'fail'

export interface Check {
  /** What was checked: "endpoint 127.0.0.1:2379", "rights under elect/", ... */
  what: string
  verdict: Verdict
  detail: string
  /** A failure that means etcd cannot be used from here (exit 69), not a local one (exit 3). */
  etcd?: boolean
}

/** Each endpoint on its own: reached, in how long, and which etcd answers there. */
export async function checkEndpoints(connection: ConnectionOptions): Promise<Check[]> {
  return Promise.all(
    connection.endpoints.map(async (endpoint) => {
      const what = `endpoint ${endpoint}`
      const client = await connect({...connection, endpoints: [endpoint]})
      const started = monotonicMs()
      try {
        const status = await client.maintenance.status()
        const tls = usesTls({...connection, endpoints: [endpoint]}) ? `, TLS verified${connection.caFile ? ` against ${connection.caFile}` : ''}` : ''
        const login = connection.user ? `, logged in as ${connection.user}` : ''
        return {what, verdict: 'ok' as const, detail: `etcd ${status.version} answered in ${Math.round(monotonicMs() - started)} ms${tls}${login}`}
      } catch (error) {
        // etcd 3.5 shows its status to root alone: a refusal is an answer, after a login that worked.
        if (credentialsRefused(error)?.includes('role'))
          return {
            what,
            verdict: 'ok' as const,
            detail: `answered in ${Math.round(monotonicMs() - started)} ms, logged in as ${connection.user} (etcd shows its version to root alone)`,
          }
        return {what, verdict: 'fail' as const, detail: describeUnavailable(error, [endpoint], usesTls(connection)) ?? refusalOf(error), etcd: true}
      } finally {
        client.close()
      }
    }),
  )
}

/** The cluster as one member sees it: its members, its raft leader, the version, and the lease-safety verdict. */
export async function checkCluster(client: Etcd3, acceptedVersion: string | undefined): Promise<Check[]> {
  const [cluster, release] = await Promise.all([clusterCheck(client), serverVersion(client)])
  if (release === undefined) return [cluster, {what: 'etcd version', verdict: 'fail', detail: 'etcd did not say its version', etcd: true}]
  const bugs = leaseBugsOf(release)
  const accepted = acceptedVersion === release
  const version: Check = {
    what: 'etcd version',
    verdict: bugs.length === 0 || accepted ? 'ok' : 'fail',
    detail:
      bugs.length === 0
        ? `${release}: no known bug that ends a lease early`
        : `${release} has known bugs that can end a lease early: ${bugs.map((bug) => `${bug.issue} (fixed in ${bug.fixedIn.join(', ')})`).join(', ')}${accepted ? '; accepted by ELECT_ACCEPT_ETCD_VERSION' : ''}`,
  }
  return [cluster, version]
}

async function clusterCheck(client: Etcd3): Promise<Check> {
  try {
    const [status, {members}] = await Promise.all([client.maintenance.status(), client.cluster.memberList({})])
    const leader = members.find((member) => member.ID === status.leader)
    const names = members.map((member) => member.name || member.ID).join(', ')
    return {
      what: 'cluster',
      verdict: leader ? 'ok' : 'fail',
      detail: `${members.length} member${members.length === 1 ? '' : 's'} (${names}), raft leader ${leader ? leader.name || leader.ID : 'none'}`,
      etcd: !leader,
    }
  } catch (error) {
    if (!credentialsRefused(error)) throw error
    return {what: 'cluster', verdict: 'ok', detail: 'its members and raft leader are shown to root alone'}
  }
}

/**
 * What the user's role may do under the election's keys, as a run does it: read, write (a key of
 * check's own under `<prefix><name>:check/`, on a lease of 5 s, deleted at once), grant and revoke a
 * lease, watch.
 */
export async function checkRights(client: Etcd3, prefix: string, name: string): Promise<Check> {
  const keys = new ElectionKeys(prefix, name)
  const probe = Buffer.from(`${prefix}${name}:check/${hostname()}-${process.pid}`)
  const done: string[] = []
  const step = async (right: string, attempt: () => Promise<unknown>) => {
    await attempt()
    done.push(right)
  }
  let lease: string | undefined
  try {
    await step('read', () => client.kv.range({key: Buffer.from(keys.candidates), range_end: prefixEnd(keys.candidates), keys_only: true, limit: 1}))
    await step('lease', async () => (lease = String((await client.leaseClient.leaseGrant({TTL: 5, ID: 0})).ID)))
    await step('write', async () => {
      await client.kv.put({key: probe, value: Buffer.from('elect check'), lease: lease!})
      await client.kv.deleteRange({key: probe})
    })
    await step('watch', () => watchOnce(client, probe))
    return {what: `rights under ${prefix}${name}`, verdict: 'ok', detail: done.join(', ')}
  } catch (error) {
    const failed = ['read', 'lease', 'write', 'watch'].find((right) => !done.includes(right))
    return {
      what: `rights under ${prefix}${name}`,
      verdict: 'fail',
      detail: `${done.length > 0 ? `${done.join(', ')} ok; ` : ''}${failed} refused: ${refusalOf(error)}`,
      etcd: true,
    }
  } finally {
    if (lease) await client.leaseClient.leaseRevoke({ID: lease}).catch(() => undefined)
  }
}

/** Opens a watch on `key` and waits for etcd to say it was created (not cancelled: a role without the right). */
async function watchOnce(client: Etcd3, key: Buffer): Promise<void> {
  const stream = await openWatchStream(client)
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer to a watch within 2 s')), 2000)
      stream.on('data', (response) => {
        clearTimeout(timer)
        if (response.canceled) reject(new Error(response.cancel_reason || 'etcd cancelled the watch'))
        else resolve()
      })
      stream.on('error', (error) => reject(error ?? new Error('the watch stream failed')))
      stream.write({create_request: {key}})
    })
  } finally {
    cancelStream(stream)
  }
}

/** The runtime directory, and the campaign of `name` on it if one runs. */
export async function checkRuntime(prefix: string, name: string | undefined): Promise<Check> {
  const dir = runtimeDir()
  try {
    checkPrivateDir(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return {what: 'runtime directory', verdict: 'ok', detail: `${dir} (made by the first campaign; none runs here)`}
    return {what: 'runtime directory', verdict: 'fail', detail: (error as Error).message}
  }
  if (name === undefined) return {what: 'runtime directory', verdict: 'ok', detail: `${dir}, private to this user`}
  const {campaign} = await findLocalCampaign(prefix, name, 2000)
  if (campaign === 'silent') return {what: 'runtime directory', verdict: 'fail', detail: `${dir}: the campaign of ${name} here does not answer (frozen?)`}
  const found = campaign
    ? `the campaign of ${name} here answers (pid ${campaign.hello.pid}, --value ${campaign.hello.value})`
    : `no campaign of ${name} here: runs campaign on their own`
  campaign?.close()
  return {what: 'runtime directory', verdict: 'ok', detail: `${dir}, private to this user; ${found}`}
}

/** Which way the guard keeps a job here: a cgroup of its own, or the search in /proc. Tried with a real guard running `true`. */
export async function checkGuard(): Promise<Check> {
  const supervisor = Supervisor.prepare({label: 'check', command: 'true', args: [], killSignal: 'SIGTERM', killGraceMs: 1000, env: process.env})
  await supervisor.start(monotonicMs() + 10_000, {})
  const {status} = await supervisor.exited
  const cgroup = supervisor.cgroup
  if (status !== 0) return {what: 'guard', verdict: 'fail', detail: `a guard running true ended with status ${status}`}
  return {
    what: 'guard',
    verdict: 'ok',
    detail: cgroup
      ? 'a job gets a cgroup of its own (cgroup v2): nothing it starts leaves it unseen'
      : `a job is found in /proc (its process group, ELECT_RUN_ID, their descendants)${process.env.ELECT_CGROUP === 'none' ? ': ELECT_CGROUP=none' : ': no cgroup v2 this user may write (run as root, or under a unit with Delegate=yes)'}`,
  }
}
