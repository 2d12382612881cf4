// etcd's unary calls over the JSON gateway etcd serves on its client port (HTTP/1.1, /v3/...), in the
// shape of etcd3's raw clients (client.kv.range, client.leaseClient.leaseGrant...: Buffers in and out,
// int64 as strings, every field present): what a one-shot command needs, without loading gRPC, which
// costs a process more than the command (test/README.md's Performance). The lean start-up's bundle
// (test/build/build.ts) takes this module for 'etcd3', so connect() and the retry policies it passes
// (etcd/connection.ts, etcd/retry.ts) are the same code on both paths. Streams (campaigns,
// keepalives, watches) are not served here: the commands that need them run on etcd3 itself.
import type {IOptions} from 'etcd3'
import type {CallContext} from 'etcd3/lib/rpc.js'
import {castGrpcError} from 'etcd3/lib/errors.js'
import {ConnectionFailed, Http1Pool} from './http1.js'

type Json = Record<string, unknown>

/**
 * What only gRPC serves: a stream, or a client certificate (over gRPC, etcd with auth on takes its
 * common name for the user; its gateway refuses a request with one when auth is on, etcd 3.5's
 * "CommonName of client sending a request against gateway will be ignored"). Thrown before the
 * command has done anything: bin/run.cjs runs the line again on etcd3.
 */
export class NeedsGrpc extends Error {}
type Policy = {execute<T>(fn: () => Promise<T>): Promise<T>}
/** A policy where etcd3 was given none: the call, once. */
const CALL_THROUGH: Policy = {execute: (fn) => fn()}
type CallOptions = {deadline?: number | Date}

/** gRPC's status names by code, as grpc-js writes them ahead of a message ("14 UNAVAILABLE: ..."). */
const STATUS = (
  'OK CANCELLED UNKNOWN INVALID_ARGUMENT DEADLINE_EXCEEDED NOT_FOUND ALREADY_EXISTS PERMISSION_DENIED RESOURCE_EXHAUSTED ' +
  'FAILED_PRECONDITION ABORTED OUT_OF_RANGE UNIMPLEMENTED INTERNAL UNAVAILABLE DATA_LOSS UNAUTHENTICATED'
).split(' ')

/** What etcd3 throws for the same failure (castGrpcError reads the code and etcd's message). */
function grpcError(code: number, message: string): Error {
  return castGrpcError(Object.assign(new Error(`${code} ${STATUS[code] ?? 'UNKNOWN'}: ${message}`), {code}))
}

// etcd3 takes enums by name; the gateway, by number.
const ENUMS: Record<string, Record<string, number>> = {
  target: {Version: 0, Create: 1, Mod: 2, Value: 3, Lease: 4},
  result: {Equal: 0, Greater: 1, Less: 2, NotEqual: 3},
  sort_order: {None: 0, Ascend: 1, Descend: 2},
  sort_target: {Key: 0, Version: 1, Create: 2, Mod: 3, Value: 4},
}

/** A request as JSON: bytes in base64, enums as numbers. */
function encode(value: unknown, field = ''): unknown {
  if (Buffer.isBuffer(value)) return value.toString('base64')
  if (Array.isArray(value)) return value.map((item) => encode(item))
  if (typeof value === 'string' && ENUMS[field]) return ENUMS[field][value] ?? value
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, encode(item, name)]))
  return value
}

// JSON leaves out what protobuf holds as default; etcd3 gives every field (proto-loader's defaults).
const header = (header: Json = {}) => ({cluster_id: '0', member_id: '0', revision: '0', raft_term: '0', ...header})
const bytes = (text: unknown) => Buffer.from((text as string | undefined) ?? '', 'base64')
const keyValue = (kv: Json) => ({create_revision: '0', mod_revision: '0', version: '0', lease: '0', ...kv, key: bytes(kv.key), value: bytes(kv.value)})
const keyValues = (kvs: unknown) => ((kvs as Json[] | undefined) ?? []).map(keyValue)
const rangeResponse = (r: Json) => ({more: false, count: '0', ...r, header: header(r.header as Json), kvs: keyValues(r.kvs)})
const putResponse = (r: Json) => ({...r, header: header(r.header as Json), prev_kv: r.prev_kv ? keyValue(r.prev_kv as Json) : null})
const deleteResponse = (r: Json) => ({deleted: '0', ...r, header: header(r.header as Json), prev_kvs: keyValues(r.prev_kvs)})
const ANSWERS: Record<string, (r: Json) => Json> = {response_range: rangeResponse, response_put: putResponse, response_delete_range: deleteResponse}
function txnResponse(r: Json): Json {
  const responses = ((r.responses as Json[] | undefined) ?? []).map((op): Json => {
    const [kind, answer] = Object.entries(op)[0]
    return {[kind]: kind === 'response_txn' ? txnResponse(answer as Json) : ANSWERS[kind](answer as Json), response: kind}
  })
  return {succeeded: false, ...r, header: header(r.header as Json), responses}
}
const withHeader = (defaults: Json) => (r: Json) => ({...defaults, ...r, header: header(r.header as Json)})

/**
 * One etcd client over the gateway, as etcd3's Etcd3 is constructed (the options connect() gives):
 * each call goes through the global policy, then to a shuffled endpoint through its host policy; a
 * login (with a user) gives the token every call carries, made again when etcd forgets it.
 */
export class GatewayClient {
  private readonly hosts: Array<{url: URL; policy: Policy}>
  private readonly connections: Http1Pool
  private token?: Promise<string>

  constructor(private readonly options: IOptions) {
    if (options.credentials?.certChain) throw new NeedsGrpc()
    const hosts = typeof options.hosts === 'string' ? [options.hosts] : (options.hosts ?? ['127.0.0.1:2379'])
    // connect() names every endpoint https:// when it uses TLS (usesTls): a bare one is plain.
    this.hosts = hosts.map((host) => ({
      url: new URL(host.includes('://') ? host : `http://${host}`),
      policy: (options.faultHandling?.host?.(host) as Policy | undefined) ?? CALL_THROUGH,
    }))
    const {credentials} = options
    this.connections = new Http1Pool(credentials && {ca: credentials.rootCertificate ?? undefined, cert: credentials.certChain, key: credentials.privateKey})
  }

  readonly kv = {
    range: (request: Json, options?: CallOptions) => this.call('KV', 'range', '/v3/kv/range', request, rangeResponse, options),
    put: (request: Json, options?: CallOptions) => this.call('KV', 'put', '/v3/kv/put', request, putResponse, options),
    deleteRange: (request: Json, options?: CallOptions) => this.call('KV', 'deleteRange', '/v3/kv/deleterange', request, deleteResponse, options),
    txn: (request: Json, options?: CallOptions) => this.call('KV', 'txn', '/v3/kv/txn', request, txnResponse, options),
  }

  readonly leaseClient = {
    leaseGrant: (request: Json, options?: CallOptions) =>
      this.call('Lease', 'leaseGrant', '/v3/lease/grant', request, withHeader({ID: '0', TTL: '0', error: ''}), options),
    leaseRevoke: (request: Json, options?: CallOptions) => this.call('Lease', 'leaseRevoke', '/v3/lease/revoke', request, withHeader({}), options),
    leaseTimeToLive: (request: Json, options?: CallOptions) =>
      this.call('Lease', 'leaseTimeToLive', '/v3/lease/timetolive', request, withHeader({ID: '0', TTL: '0', grantedTTL: '0', keys: []}), options),
    leaseKeepAlive: (): never => {
      throw new NeedsGrpc()
    },
  }

  readonly maintenance = {
    status: (options?: CallOptions) =>
      this.call(
        'Maintenance',
        'status',
        '/v3/maintenance/status',
        {},
        withHeader({version: '', dbSize: '0', leader: '0', raftIndex: '0', raftTerm: '0'}),
        options,
      ),
  }

  readonly cluster = {
    memberList: (request: Json = {}, options?: CallOptions) =>
      this.call(
        'Cluster',
        'memberList',
        '/v3/cluster/member/list',
        request,
        (r) => ({...r, header: header(r.header as Json), members: r.members ?? []}),
        options,
      ),
  }

  /** What connection.ts reaches into etcd3 for: forgetting the token (forgetToken). Watches are not served (see above). */
  readonly pool = {authenticator: {invalidateMetadata: () => (this.token = undefined)}}
  readonly watchClient = {watch: () => Promise.reject(new NeedsGrpc())}

  close(): void {
    this.connections.close()
  }

  private async call<T>(service: string, method: string, path: string, request: Json, answer: (r: Json) => T, options?: CallOptions): Promise<T> {
    const global = (this.options.faultHandling?.global as Policy | undefined) ?? CALL_THROUGH
    const deadline = () => {
      const factory = this.options.defaultCallOptions
      const defaults = typeof factory === 'function' ? factory({service, method, params: request, isStream: false} as CallContext) : factory
      const given = options?.deadline ?? defaults?.deadline
      return given === undefined ? Number.POSITIVE_INFINITY : Number(given)
    }
    const shuffled = [...this.hosts].sort(() => Math.random() - 0.5)
    let next = 0
    return global.execute(async () => {
      // As etcd3: a host whose policy refuses (it cools) is passed over; a host called through decides the attempt.
      let refusal: unknown
      for (let tried = 0; tried < this.hosts.length; tried++) {
        const host = shuffled[next++ % shuffled.length]
        let calledThrough = false
        try {
          return await host.policy.execute(async () => {
            calledThrough = true
            return answer(await this.authorized(host.url, path, request, deadline))
          })
        } catch (error) {
          if (calledThrough) throw error
          refusal = error
        }
      }
      throw refusal
    })
  }

  private async authorized(base: URL, path: string, request: Json, deadline: () => number): Promise<Json> {
    const {auth} = this.options
    if (!auth) return this.post(base, path, request, deadline())
    for (let login = 1; ; login++) {
      const token = await (this.token ??= this.login(auth.username, auth.password, deadline))
      try {
        return await this.post(base, path, request, deadline(), token)
      } catch (error) {
        // etcd forgot the token (it expired, etcd restarted): log in again, once.
        if (login > 1 || !/InvalidAuthToken/.test((error as Error).constructor.name)) throw error
        this.token = undefined
      }
    }
  }

  /** A token from the first endpoint that gives one, as etcd3 logs in. */
  private async login(name: string, password: string, deadline: () => number): Promise<string> {
    let failure: unknown
    for (const {url} of this.hosts) {
      try {
        return String((await this.post(url, '/v3/auth/authenticate', {name, password}, deadline())).token)
      } catch (error) {
        failure = error
      }
    }
    this.token = undefined
    throw failure
  }

  private async post(base: URL, path: string, request: Json, deadline: number, token?: string): Promise<Json> {
    const late = grpcError(4, 'Deadline exceeded')
    const headers: Record<string, string> = {'Content-Type': 'application/json', ...(token ? {Authorization: token} : {})}
    let answer: {status: number; body: Buffer}
    try {
      answer = await this.connections.post(new URL(path, base), headers, JSON.stringify(encode(request)), deadline, late)
    } catch (error) {
      if (error === late) throw late
      // Closed without a word: a TLS port that read plain text as a bad handshake, as gRPC says it.
      const {message, code} = error as ConnectionFailed
      throw grpcError(14, code === 'ECONNRESET' && /hang up/.test(message) ? (base.protocol === 'https:' ? 'ECONNRESET' : 'Failed to connect') : message)
    }
    let json: Json
    try {
      json = JSON.parse(answer.body.toString('utf8')) as Json
    } catch {
      throw grpcError(14, `etcd's gateway answered HTTP ${answer.status} without JSON`)
    }
    if (answer.status === 200) return json
    const message = [json.message, json.error].find((text): text is string => typeof text === 'string')
    throw grpcError(Number(json.code ?? 2), message ?? `HTTP ${answer.status}`)
  }
}

export {GatewayClient as Etcd3}
