// The HTTP/1.1 that etcd's JSON gateway needs (etcd/gateway.ts), over node:net or node:tls: a POST,
// and an answer of a status, Content-Length or chunked bytes. node:http costs a one-shot process
// about 4 ms more to load and to make its first request (test/README.md's Performance), which is
// as much again as this module's whole work.
import {connect as connectTcp, isIP, type Socket} from 'node:net'
import type * as Tls from 'node:tls'

/** node:tls, loaded for an https endpoint alone (some 3 ms of a process). */
const tls = (): typeof Tls => process.getBuiltinModule('node:tls')

export interface TlsFiles {
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
}

export interface Answer {
  status: number
  body: Buffer
}

/** Failed before any answer: a connection refused, reset or closed; the error says which, as Node's does. */
export class ConnectionFailed extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message)
  }
}

/**
 * One connection to each of etcd's client ports, kept open from one request to the next, and its
 * requests in turn: a one-shot command makes a few small requests, and a second connection (a
 * second TLS handshake) costs more than waiting for the first one's answer.
 */
export class Http1Pool {
  private readonly endpoints = new Map<string, {socket?: Socket; turn: Promise<unknown>}>()

  constructor(private readonly tlsFiles?: TlsFiles) {}

  /** POSTs `body` to `url`; rejects with ConnectionFailed, or with `late` once `deadline` (ms since the epoch) passes. */
  post(url: URL, headers: Record<string, string>, body: string, deadline: number, late: Error): Promise<Answer> {
    let endpoint = this.endpoints.get(url.host)
    if (!endpoint) this.endpoints.set(url.host, (endpoint = {turn: Promise.resolve()}))
    const answer = endpoint.turn.then(() => this.exchange(endpoint, url, headers, body, deadline, late))
    endpoint.turn = answer.catch(() => undefined)
    return answer
  }

  close(): void {
    for (const endpoint of this.endpoints.values()) endpoint.socket?.destroy()
    this.endpoints.clear()
  }

  private exchange(endpoint: {socket?: Socket}, url: URL, headers: Record<string, string>, body: string, deadline: number, late: Error): Promise<Answer> {
    if (deadline <= Date.now()) return Promise.reject(late)
    const socket = endpoint.socket && !endpoint.socket.destroyed ? endpoint.socket : (endpoint.socket = this.connect(url))
    const head = [`POST ${url.pathname} HTTP/1.1`, `Host: ${url.host}`, `Content-Length: ${Buffer.byteLength(body)}`]
    for (const [name, value] of Object.entries(headers)) head.push(`${name}: ${value}`)
    return new Promise<Answer>((resolve, reject) => {
      const reading = new AnswerReader()
      const timer = Number.isFinite(deadline) ? setTimeout(() => fail(late), deadline - Date.now()) : undefined
      const done = () => {
        clearTimeout(timer)
        socket.off('data', onData).off('error', fail).off('close', onClose)
      }
      const fail = (error: Error) => {
        done()
        socket.destroy()
        reject(error instanceof ConnectionFailed || error === late ? error : new ConnectionFailed(error.message, (error as NodeJS.ErrnoException).code))
      }
      const onClose = () => fail(new ConnectionFailed('socket hang up', 'ECONNRESET'))
      const onData = (chunk: Buffer) => {
        let answer: (Answer & {keepOpen: boolean}) | undefined
        try {
          answer = reading.add(chunk)
        } catch (error) {
          return fail(error as Error)
        }
        if (!answer) return
        done()
        if (!answer.keepOpen) socket.destroy()
        resolve({status: answer.status, body: answer.body})
      }
      socket.on('data', onData).on('error', fail).on('close', onClose)
      socket.write(`${head.join('\r\n')}\r\n\r\n${body}`)
    })
  }

  private connect(url: URL): Socket {
    const host = url.hostname.replace(/^\[|\]$/g, '')
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
    const socket =
      url.protocol === 'https:'
        ? tls().connect({host, port, ...this.tlsFiles, servername: isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1']})
        : connectTcp({host, port})
    socket.setNoDelay(true)
    // An error between requests only closes the connection; the next request opens another.
    socket.on('error', () => undefined)
    return socket
  }
}

/** An answer read as its bytes arrive: the status line and headers, then a body of Content-Length or chunks. */
class AnswerReader {
  private buffered: Buffer = Buffer.alloc(0)
  private head?: {status: number; length?: number; chunked: boolean; keepOpen: boolean; bodyAt: number}

  /** The whole answer once its last byte is in, else undefined. */
  add(chunk: Buffer): (Answer & {keepOpen: boolean}) | undefined {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk])
    if (!this.head) {
      const end = this.buffered.indexOf('\r\n\r\n')
      if (end < 0) return undefined
      const [statusLine, ...fields] = this.buffered.subarray(0, end).toString('latin1').split('\r\n')
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]
      if (!status) throw new ConnectionFailed('Failed to connect')
      const field = (name: string) =>
        fields
          .find((line) => line.toLowerCase().startsWith(`${name}:`))
          ?.slice(name.length + 1)
          .trim()
      const length = field('content-length')
      this.head = {
        status: Number(status),
        length: length === undefined ? undefined : Number(length),
        chunked: /chunked/i.test(field('transfer-encoding') ?? ''),
        keepOpen: !/close/i.test(field('connection') ?? '') && statusLine.startsWith('HTTP/1.1'),
        bodyAt: end + 4,
      }
    }
    const body = this.head.chunked ? this.chunkedBody() : this.lengthBody()
    return body && {status: this.head.status, body, keepOpen: this.head.keepOpen}
  }

  private lengthBody(): Buffer | undefined {
    const {bodyAt, length} = this.head!
    // Without a length or chunks, the body runs to the end of the connection, which we do not keep.
    if (length === undefined) throw new ConnectionFailed("etcd's gateway answered without a length")
    return this.buffered.length >= bodyAt + length ? this.buffered.subarray(bodyAt, bodyAt + length) : undefined
  }

  private chunkedBody(): Buffer | undefined {
    const parts: Buffer[] = []
    for (let at = this.head!.bodyAt; ;) {
      const lineEnd = this.buffered.indexOf('\r\n', at)
      if (lineEnd < 0) return undefined
      const size = Number.parseInt(this.buffered.subarray(at, lineEnd).toString('latin1'), 16)
      if (Number.isNaN(size)) throw new ConnectionFailed("etcd's gateway answered with a chunk it did not size")
      // The last chunk: then trailer fields, if any, and an empty line.
      if (size === 0) return this.buffered.indexOf('\r\n\r\n', lineEnd) >= 0 ? Buffer.concat(parts) : undefined
      if (this.buffered.length < lineEnd + 2 + size + 2) return undefined
      parts.push(this.buffered.subarray(lineEnd + 2, lineEnd + 2 + size))
      at = lineEnd + 2 + size + 2
    }
  }
}
