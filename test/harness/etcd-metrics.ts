/**
 * What one etcd member has counted since it started, from its own /metrics: the gRPC messages it
 * received (all of them, and the Range, Watch and LeaseKeepAlive ones), the keepalive streams opened,
 * the proposals it committed, and its CPU time.
 */
export async function etcdCounters(endpoint: string) {
  const text = await (await fetch(`http://${endpoint}/metrics`)).text()
  const sum = (pattern: RegExp) => [...text.matchAll(pattern)].reduce((total, match) => total + Number(match[1]), 0)
  const received = (method: string) => sum(new RegExp(`^grpc_server_msg_received_total\\{grpc_method="${method}"[^}]*\\} (\\S+)$`, 'gm'))
  return {
    messages: sum(/^grpc_server_msg_received_total\{[^}]*\} (\S+)$/gm),
    reads: received('Range'),
    watchRequests: received('Watch'),
    keepalives: received('LeaseKeepAlive'),
    statusCalls: sum(/^grpc_server_started_total\{grpc_method="Status"[^}]*\} (\S+)$/gm),
    keepaliveStreams: sum(/^grpc_server_started_total\{grpc_method="LeaseKeepAlive"[^}]*\} (\S+)$/gm),
    proposals: sum(/^etcd_server_proposals_committed_total (\S+)$/gm),
    cpuMs: sum(/^process_cpu_seconds_total (\S+)$/gm) * 1000,
  }
}

export type EtcdCounters = Awaited<ReturnType<typeof etcdCounters>>
