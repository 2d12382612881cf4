// `tsx test/harness/etcd-cli.ts install`: make sure etcd and etcdctl are available (CI runs this).
// `tsx test/harness/etcd-cli.ts serve [members]`: run a throwaway cluster until interrupted.
import {findEtcdBinaries, startCluster} from './etcd.js'

const [verb = 'install', size = '1'] = process.argv.slice(2)
if (verb === 'install') {
  const binaries = findEtcdBinaries()
  console.log(`etcd: ${binaries.etcd}\netcdctl: ${binaries.etcdctl}`)
} else if (verb === 'serve') {
  const cluster = await startCluster(Number(size))
  console.log(`ELECT_ENDPOINTS=${cluster.endpoints.join(',')}`)
  const stop = () => cluster.stop().then(() => process.exit(0))
  process.once('SIGINT', () => void stop())
  process.once('SIGTERM', () => void stop())
} else {
  console.error('usage: etcd-cli.ts install | serve [members]')
  process.exit(2)
}
