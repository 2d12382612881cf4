// Slow links: etcd across regions or a congested WAN, made here by delaying TCP proxies (every chunk
// arrives a fixed time after it was sent, and a new connection carries nothing for a round trip).
// elect must connect, with its defaults, wherever etcdctl does with its own.
import {execa} from 'execa'
import {afterAll, afterEach, beforeAll, describe, expect, inject, it} from 'vitest'
import {cleanup, elect, uniqueName} from '../harness/cli.js'
import {type Cluster, startCluster} from '../harness/etcd.js'
import {TcpProxy} from '../harness/proxy.js'

let cluster: Cluster
const proxies: TcpProxy[] = []
beforeAll(async () => {
  cluster = await startCluster(3)
})
afterAll(async () => {
  await Promise.all(proxies.map((proxy) => proxy.close()))
  await cluster?.stop()
})
afterEach(cleanup)

/** `count` endpoints at a round trip of `roundTripMs`, spread over the cluster's members. */
async function slowEndpoints(count: number, roundTripMs: number): Promise<string[]> {
  const started = await Promise.all(
    Array.from({length: count}, (_, index) => TcpProxy.start(cluster.endpoints[index % cluster.endpoints.length], roundTripMs / 2)),
  )
  proxies.push(...started)
  return started.map((proxy) => proxy.endpoint)
}

describe.each([
  [5, 200],
  [3, 400],
])('%i endpoints at a %i ms round trip', (count, roundTripMs) => {
  it('etcdctl and elect both answer with their default timeouts', async () => {
    const endpoints = await slowEndpoints(count, roundTripMs)
    // The reference, in the same run: etcdctl's defaults (2 s to dial, 5 s a command).
    const reference = await execa(inject('etcdctl'), [`--endpoints=${endpoints.join(',')}`, 'get', 'anything'], {reject: false, env: {ETCDCTL_API: '3'}})
    expect([reference.exitCode, reference.stderr]).toEqual([0, ''])
    const name = uniqueName('slow-link')
    const nobody = await elect(['who-leads', name], {endpoints})
    expect([nobody.exitCode, nobody.stderr]).toEqual([3, `elect: nobody leads ${name}`])
    const ran = await elect(['run-if-leader', name, '--', 'echo', 'ran'], {endpoints, timeoutMs: 60_000})
    expect([ran.exitCode, ran.stdout, ran.stderr]).toEqual([0, 'ran', ''])
  })
})
