// run-if-leader's etcd in its lean start-up (dist/lean-run.cjs): the JSON gateway (gateway.ts) for
// the unary calls that decide a fire, and etcd3 only once the run asks for a stream (its lease's
// keepalive, its leadership's watch), from then on for every call. A fire that skips, as most fires of
// a fleet's crontab do, never loads gRPC; one that runs loads it once it has won, as it would have at
// start. The build gives lean-run.cjs this module in place of 'etcd3'; the run does not know.
//
// etcd3 is a bundle of its own beside this one (dist/etcd3.cjs, GRPC_BUNDLE): a skip then neither
// reads nor compiles its megabyte. The loaders (bin/run.cjs, the single executable's main script)
// serve this name with the bundle's compiled code; a plain require of the file would also work.
import type {Etcd3 as GrpcClient, IOptions} from 'etcd3'
import {GatewayClient, NeedsGrpc} from './gateway.js'

type Json = Record<string, unknown>
type CallOptions = {deadline?: number | Date}
/** What both clients serve, as this module calls it (etcd3 keeps its pool protected). */
type Calls = Pick<GrpcClient, 'kv' | 'leaseClient' | 'maintenance' | 'cluster'> & {pool: {authenticator: {invalidateMetadata(): void}}}

export class GatewayFirstClient {
  private readonly gateway?: GatewayClient
  private grpc?: Calls & GrpcClient

  constructor(private readonly options: IOptions) {
    try {
      this.gateway = new GatewayClient(options)
    } catch (error) {
      // A client certificate: gRPC from the first call (see NeedsGrpc).
      if (!(error instanceof NeedsGrpc)) throw error
    }
  }

  // Stable objects, not getters of the current client's: connection.ts wraps watchClient.watch in place.
  readonly kv = {
    range: (request: Json, options?: CallOptions) => this.unary((client) => client.kv.range(request as never, options)),
    put: (request: Json, options?: CallOptions) => this.unary((client) => client.kv.put(request as never, options)),
    deleteRange: (request: Json, options?: CallOptions) => this.unary((client) => client.kv.deleteRange(request as never, options)),
    txn: (request: Json, options?: CallOptions) => this.unary((client) => client.kv.txn(request as never, options)),
  }

  readonly leaseClient = {
    leaseGrant: (request: Json, options?: CallOptions) => this.unary((client) => client.leaseClient.leaseGrant(request as never, options)),
    leaseRevoke: (request: Json, options?: CallOptions) => this.unary((client) => client.leaseClient.leaseRevoke(request as never, options)),
    leaseTimeToLive: (request: Json, options?: CallOptions) => this.unary((client) => client.leaseClient.leaseTimeToLive(request as never, options)),
    leaseKeepAlive: async (options?: CallOptions) => this.streaming().leaseClient.leaseKeepAlive(options),
  }

  // Async, as etcd3's: a bundle that cannot be loaded (replaced by an upgrade under a running job) is a
  // stream that failed, tried again as any other, never a throw where a promise was due.
  readonly watchClient = {watch: async (options?: CallOptions) => this.streaming().watchClient.watch(options)}

  readonly maintenance = {status: (options?: CallOptions) => this.unary((client) => client.maintenance.status(options))}

  readonly cluster = {memberList: (request: Json = {}, options?: CallOptions) => this.unary((client) => client.cluster.memberList(request, options))}

  /** forgetToken (connection.ts): the token of whichever client calls now. */
  readonly pool = {authenticator: {invalidateMetadata: () => this.current().pool.authenticator.invalidateMetadata()}}

  close(): void {
    this.gateway?.close()
    this.grpc?.close()
  }

  private current(): Calls {
    return this.grpc ?? (this.gateway as unknown as Calls | undefined) ?? this.streaming()
  }

  private async unary<T>(call: (client: Calls) => Promise<T>): Promise<T> {
    return call(this.current())
  }

  /** etcd3, loaded at the first stream (or call, with a client certificate): every later call goes through it. */
  private streaming(): Calls & GrpcClient {
    if (this.grpc) return this.grpc
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the loader's name, see above
    const {Etcd3} = require(GRPC_BUNDLE) as typeof import('etcd3')
    // The gateway's connection stays until close(): a call may still be on its way over it.
    this.grpc = new Etcd3(this.options) as unknown as Calls & GrpcClient
    return this.grpc
  }
}

/** etcd3's bundle, beside the lean-run bundle in dist/ (test/build/bundle.ts builds both). */
export const GRPC_BUNDLE = './etcd3.cjs'

export {GatewayFirstClient as Etcd3}
