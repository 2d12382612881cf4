// The HTTP/1.1 of the lean start-up (src/etcd/http1.ts), against a server that answers as the test
// writes it: bytes in pieces, chunks, a closed connection, silence. etcd's own answers are the
// lean start-up's test's (test/cli/lean-start.test.ts).
import {createServer, type Server, type Socket} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {ConnectionFailed, Http1Pool} from '../../src/etcd/http1.js'

let server: Server | undefined
let pool: Http1Pool | undefined
afterEach(() => {
  pool?.close()
  server?.close()
})

/** A server that hands each request's bytes to `answer`, and counts its connections. */
async function serve(answer: (socket: Socket, request: string) => void) {
  const seen = {connections: 0, requests: [] as string[]}
  server = createServer((socket) => {
    seen.connections++
    socket.on('data', (data) => {
      seen.requests.push(data.toString())
      answer(socket, data.toString())
    })
  })
  await new Promise<void>((listening) => server!.listen(0, '127.0.0.1', listening))
  const url = (path: string) => new URL(path, `http://127.0.0.1:${(server!.address() as {port: number}).port}`)
  return {seen, url}
}

const late = new Error('late')
const post = (url: URL, body = '{}', deadline = Date.now() + 2000) =>
  (pool ??= new Http1Pool()).post(url, {'Content-Type': 'application/json'}, body, deadline, late)
const writeInPieces = (socket: Socket, text: string, size = 7) => {
  for (let at = 0; at < text.length; at += size) setTimeout(() => socket.write(text.slice(at, at + size)), at / size)
}

describe('HTTP/1.1 for the gateway', () => {
  it('reads an answer of Content-Length that arrives in pieces, and keeps the connection for the next request', async () => {
    const {seen, url} = await serve((socket) =>
      writeInPieces(socket, 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"a":"bc"}\n'),
    )
    for (let request = 0; request < 3; request++) {
      const answer = await post(url('/v3/kv/range'), '{"key":"eA=="}')
      expect([answer.status, answer.body.toString()]).toEqual([200, '{"a":"bc"}\n'])
    }
    expect(seen.connections).toBe(1)
    expect(seen.requests[0]).toBe(
      `POST /v3/kv/range HTTP/1.1\r\nHost: ${url('/').host}\r\nContent-Length: 14\r\nContent-Type: application/json\r\n\r\n{"key":"eA=="}`,
    )
  })

  it('reads chunks, with and without trailer fields, and requests made at once in turn on one connection', async () => {
    let answers = 0
    const {seen, url} = await serve((socket) => {
      const trailer = answers++ % 2 === 0 ? '' : 'Grpc-Status: 0\r\n'
      writeInPieces(socket, `HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"co\r\nb\r\nde":5,"x":1\r\n1\r\n}\r\n0\r\n${trailer}\r\n`, 5)
    })
    const answers_ = await Promise.all([post(url('/a')), post(url('/b')), post(url('/c'))])
    for (const answer of answers_) expect([answer.status, answer.body.toString()]).toEqual([404, '{"code":5,"x":1}'])
    expect(seen.connections).toBe(1)
  })

  it('opens a new connection after one the server closed, and says a hang-up as Node does', async () => {
    let requests = 0
    const {seen, url} = await serve((socket, request) => {
      if (++requests === 2) return socket.destroy()
      socket.end(`HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n${request.endsWith('1') ? '{}' : '[]'}`)
    })
    expect((await post(url('/'), '1')).body.toString()).toBe('{}')
    const hungUp = await post(url('/'), '2').catch((error: unknown) => error)
    expect(hungUp).toBeInstanceOf(ConnectionFailed)
    expect([(hungUp as ConnectionFailed).code, (hungUp as Error).message]).toEqual(['ECONNRESET', 'socket hang up'])
    expect((await post(url('/'), '3')).body.toString()).toBe('[]')
    expect(seen.connections).toBe(3)
  })

  it('gives up at the deadline on a server that never answers, and on one that answers what is not HTTP', async () => {
    const silent = await serve(() => undefined)
    const started = Date.now()
    await expect(post(silent.url('/'), '{}', Date.now() + 200)).rejects.toBe(late)
    expect(Date.now() - started).toBeLessThan(5000)
    server!.close()
    const garbled = await serve((socket) => socket.write('\x15\x03\x01\x00\x02\x02\x46\r\n\r\n'))
    await expect(post(garbled.url('/'))).rejects.toThrow(/Failed to connect/)
  })

  it('says a refused connection as Node does', async () => {
    const error = await post(new URL('http://127.0.0.1:9/')).catch((failure: unknown) => failure)
    expect(error).toBeInstanceOf(ConnectionFailed)
    expect((error as ConnectionFailed).code).toBe('ECONNREFUSED')
    expect((error as Error).message).toMatch(/ECONNREFUSED 127\.0\.0\.1:9/)
  })
})
