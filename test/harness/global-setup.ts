// Provides the endpoints of a real etcd to every integration test: ETCD_TEST_ENDPOINTS if set, else a
// one-member cluster started here from local binaries, else (or when ETCD_TEST_BACKEND=docker) an
// etcd container through testcontainers. Tests that need to
// kill or freeze members start clusters of their own with startCluster().
import type {TestProject} from 'vitest/node'
import {type Cluster, startCluster, versionOf} from './etcd.js'

declare module 'vitest' {
  export interface ProvidedContext {
    etcdEndpoints: string[]
    etcdctl: string
    /** The version of the etcd binaries the tests start, when they start their own. */
    etcdVersion: string
  }
}

let cluster: Cluster | undefined
let stopContainer: (() => Promise<unknown>) | undefined

export default async function setup(project: TestProject) {
  if (process.env.ETCD_TEST_ENDPOINTS) {
    project.provide('etcdEndpoints', process.env.ETCD_TEST_ENDPOINTS.split(','))
  } else if (process.env.ETCD_TEST_BACKEND === 'docker') {
    const {startContainer} = await import('./etcd-container.js')
    const container = await startContainer()
    stopContainer = container.stop
    project.provide('etcdEndpoints', container.endpoints)
  } else {
    try {
      cluster = await startCluster(1)
      project.provide('etcdEndpoints', cluster.endpoints)
    } catch (localError) {
      // No local etcd to be had: a Docker engine, where one answers, is the alternative.
      const {startContainer} = await import('./etcd-container.js')
      const container = await startContainer().catch((dockerError: Error) => {
        throw new Error(`${(localError as Error).message}; and ${dockerError.message}`)
      })
      stopContainer = container.stop
      project.provide('etcdEndpoints', container.endpoints)
    }
  }
  project.provide('etcdctl', cluster?.binaries.etcdctl ?? process.env.ETCDCTL_BIN ?? 'etcdctl')
  project.provide('etcdVersion', cluster ? versionOf(cluster.binaries) : '')
  return async () => {
    await cluster?.stop()
    await stopContainer?.()
  }
}
