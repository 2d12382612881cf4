// `tsx test/tools/load-report.ts FILE...`: test/README.md's table and picture from `npm run load` JSON lines
// (one file per kind; its label names the column), with the projection to 10,000 candidates.
import {readFileSync} from 'node:fs'

interface Level {
  label: string
  /** Set when etcd could not carry this K: the load stopped, having started this many. */
  failed?: string
  startedCandidates?: number
  members: number
  k: number
  perCandidate: number
  messagesPerS: number
  cpuMsPerS: number
  p99Ms: number
  handoverMs: number[]
}

const levels: Level[] = process.argv.slice(2).flatMap((file) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Level),
)
const labels = [...new Set(levels.map((level) => level.label))]
const sizes = [...new Set(levels.map((level) => level.members))]

for (const members of sizes) {
  const ofSize = levels.filter((level) => level.members === members)
  const ks = [...new Set(ofSize.map((level) => level.k))].sort((a, b) => a - b)
  const at = (label: string, k: number) => ofSize.find((level) => level.label === label && level.k === k)
  // A K that etcd could not carry says so in the first column, and nothing in the others.
  const cells =
    (format: (level: Level) => string, first = false) =>
    (k: number) =>
      labels
        .map((label) => {
          const level = at(label, k)
          if (level?.failed) return first ? `(${level.startedCandidates} joined, then etcd timed out)` : '-'
          return level ? format(level) : '-'
        })
        .join(' / ')
  console.log(`\n${members} member${members === 1 ? '' : 's'}; each cell: ${labels.join(' / ')}\n`)
  console.log('| K | etcd messages/s (per candidate) | etcd CPU ms/s | bystander p99 ms | handover median, max ms |')
  console.log('| --- | --- | --- | --- | --- |')
  for (const k of ks) {
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
    console.log(
      `| ${k} | ${cells((l) => `${Math.round(l.messagesPerS)} (${l.perCandidate.toFixed(2)})`, true)(k)} | ${cells((l) => String(Math.round(l.cpuMsPerS)))(k)} | ${cells((l) => l.p99Ms.toFixed(1))(k)} | ${cells((l) => `${median(l.handoverMs)}, ${Math.max(...l.handoverMs)}`)(k)} |`,
    )
  }
  // Messages grow with K at a fixed rate per candidate (what a fleet sends, if etcd keeps up); CPU
  // along a straight line through the levels etcd carried at that rate (within 5%: not saturated).
  console.log('\nprojected to 10,000 candidates:')
  for (const label of labels) {
    const carried = ofSize.filter((level) => level.label === label && !level.failed)
    const rate = Math.max(...carried.map((level) => level.perCandidate))
    const points = carried.filter((level) => level.perCandidate >= rate * 0.95)
    if (points.length < 2) continue
    const n = points.length
    const mx = points.reduce((sum, p) => sum + p.k, 0) / n
    const my = points.reduce((sum, p) => sum + p.cpuMsPerS, 0) / n
    const slope = points.reduce((sum, p) => sum + (p.k - mx) * (p.cpuMsPerS - my), 0) / points.reduce((sum, p) => sum + (p.k - mx) ** 2, 0)
    const cores = (my + slope * (10_000 - mx)) / 1000
    console.log(
      `- ${label}: ${Math.round(rate * 10_000)} messages/s, ${cores.toFixed(2)} cores of etcd CPU (${(slope * 1000).toFixed(0)} µs of CPU per candidate per s, from K = ${points.map((p) => p.k).join(', ')})`,
    )
  }
  console.log(`\n${chart(ofSize, ks)}`)
}

/** Messages per second against K, one letter per kind (its label's first), as a block of text. */
function chart(ofSize: Level[], ks: number[]): string {
  const width = 64
  const height = 16
  const maxK = Math.max(...ks)
  const drawn = ofSize.filter((level) => !level.failed)
  const maxY = Math.max(...drawn.map((level) => level.messagesPerS))
  const grid = Array.from({length: height}, () => Array.from({length: width}, () => ' '))
  for (const label of labels) {
    const points = drawn.filter((level) => level.label === label).sort((a, b) => a.k - b.k)
    const mark = label[0]
    // Each segment between two levels, drawn as dots, then the levels as letters.
    for (let index = 1; index < points.length; index++) {
      const [a, b] = [points[index - 1], points[index]]
      for (let step = 0; step <= 40; step++) {
        const k = a.k + ((b.k - a.k) * step) / 40
        const y = a.messagesPerS + ((b.messagesPerS - a.messagesPerS) * step) / 40
        plot(k, y, '.')
      }
    }
    for (const point of points) plot(point.k, point.messagesPerS, mark)
  }
  function plot(k: number, y: number, char: string) {
    const column = Math.round((k / maxK) * (width - 1))
    const row = height - 1 - Math.round((y / maxY) * (height - 1))
    if (char !== '.' || grid[row][column] === ' ') grid[row][column] = char
  }
  const axis = (value: number) => String(Math.round(value)).padStart(6)
  const lines = grid.map((row, index) => `${index % 5 === 0 ? axis(maxY * (1 - index / (height - 1))) : '      '} |${row.join('')}`)
  lines.push(`       +${'-'.repeat(width)}`)
  lines.push(`        0${' '.repeat(width - String(maxK).length - 1)}${maxK}  candidates (K)`)
  lines.unshift(`etcd messages/s; ${labels.map((label) => `${label[0]}: ${label}`).join(', ')}`)
  return lines.join('\n')
}
