// The TCP proxy's forwarding, in a process of its own (see proxy.ts): a test worker that scans /proc
// or runs etcdctl synchronously must not hold up the traffic of the elect it proxies for.
// argv: <target host:port> [one-way delay ms]. Prints "port <n>" once listening and "accepted" per
// connection; reads "cut" and "heal" on stdin, answering each with the same word once done. Ends
// with its stdin. With a delay, the link is a slow one: every chunk arrives that long after it was
// sent, in order, and a new connection carries nothing for one round trip (its TCP handshake).
const {createServer, connect} = require('node:net')
const [host, port] = process.argv[2].split(':')
const delayMs = Number(process.argv[3] ?? 0)
const links = new Set()
let isCut = false
const server = createServer((client) => {
  process.stdout.write('accepted\n')
  const upstream = connect(Number(port), host)
  const link = {client, upstream, held: [], openAt: Date.now() + 2 * delayMs}
  links.add(link)
  const deliver = (to, chunk) => {
    if (delayMs === 0) return to.write(chunk)
    // Never before an earlier chunk: setTimeout keeps the order of equal delays.
    setTimeout(() => to.destroyed || to.write(chunk), Math.max(link.openAt - Date.now(), 0) + delayMs)
  }
  const forward = (to) => (chunk) => {
    if (isCut) link.held.push({to, chunk})
    else deliver(to, chunk)
  }
  client.on('data', forward(upstream))
  upstream.on('data', forward(client))
  const close = () => {
    client.destroy()
    upstream.destroy()
    links.delete(link)
  }
  client.on('close', close).on('error', close)
  upstream.on('close', close).on('error', close)
})
server.listen(0, '127.0.0.1', () => process.stdout.write(`port ${server.address().port}\n`))
let buffered = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (chunk) => {
  buffered += chunk
  for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
    const command = buffered.slice(0, newline)
    buffered = buffered.slice(newline + 1)
    if (command === 'cut') isCut = true
    if (command === 'heal') {
      isCut = false
      for (const link of links) for (const {to, chunk: held} of link.held.splice(0)) to.write(held)
    }
    process.stdout.write(`${command}\n`)
  }
})
process.stdin.on('end', () => process.exit(0))
