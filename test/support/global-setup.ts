// Provides the endpoints of a real etcd to every integration test: ETCD_TEST_ENDPOINTS if set, else a
// one-member cluster started here (testcontainers when ETCD_TEST_BACKEND=docker). Tests that need to
// kill or freeze members start clusters of their own with startCluster().
import type {TestProject} from 'vitest/node'
import {type Cluster, findEtcdBinaries, startCluster} from './etcd.js'

declare module 'vitest' {
  export interface ProvidedContext {
    etcdEndpoints: string[]
    etcdctl: string
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
    cluster = await startCluster(1)
    project.provide('etcdEndpoints', cluster.endpoints)
  }
  project.provide('etcdctl', findEtcdBinaries().etcdctl)
  return async () => {
    await cluster?.stop()
    await stopContainer?.()
  }
}
