// What users install: the packed tarball, installed globally into a prefix of its own.
import {copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {execa} from 'execa'
import {afterEach, describe, expect, inject, it} from 'vitest'
import {cleanup, tempDir, uniqueName} from '../harness/cli.js'

afterEach(cleanup)

const root = new URL('../..', import.meta.url).pathname

describe('the bundle', () => {
  // bin/run.cjs and the single executable compile the bundle as a vm.Script from V8's cached code,
  // which has no module loader: an import() that ran would fail the command. The bundle holds only
  // oclif's and lilconfig's, which load files from disk (plugins, TypeScript sources, config files)
  // that elect never has oclif load: it hands oclif the bundle's own exports.
  it('has no import() but those of the loaders elect never calls', () => {
    const bundle = readFileSync(join(root, 'dist/elect.cjs'), 'utf8')
    // Each call is counted under the last module that began before it, so a new one anywhere shows.
    const calls: Record<string, number> = {}
    for (const call of bundle.matchAll(/[^\w.$"]import\(/g)) {
      const module = [...bundle.slice(0, call.index).matchAll(/(?:__commonJS|__esm)\(\{"([^"]+)"/g)].at(-1)?.[1] ?? '(before any module)'
      calls[module] = (calls[module] ?? 0) + 1
    }
    expect(calls).toEqual({
      'node_modules/@oclif/core/lib/config/ts-path.js': 1,
      'node_modules/@oclif/core/lib/module-loader.js': 3,
      'node_modules/lilconfig/src/index.js': 1,
    })
    for (const lean of ['dist/lean.cjs', 'dist/lean-run.cjs', 'dist/etcd3.cjs']) expect(readFileSync(join(root, lean), 'utf8')).not.toMatch(/[^\w.$"]import\(/)
  })
})

describe('the npm package', () => {
  it('holds bin, dist and the manifest only, and installs an elect that works', async () => {
    const packDir = tempDir()
    const {stdout} = await execa('npm', ['pack', '--json', '--pack-destination', packDir], {cwd: root})
    const [packed] = JSON.parse(stdout) as Array<{filename: string; files: Array<{path: string}>}>
    const paths = packed.files.map((file) => file.path)
    expect(paths).toContain('bin/run.cjs')
    expect(paths).toContain('.oclif.manifest.json')
    // The guard's script is inlined in the bundle; the single executables' build leaves no file in it.
    expect(paths.filter((path) => path.startsWith('dist/')).sort()).toEqual([
      'dist/elect.cjs',
      'dist/elect.cjs.codecache',
      'dist/etcd3.cjs',
      'dist/etcd3.cjs.codecache',
      'dist/lean-run.cjs',
      'dist/lean-run.cjs.codecache',
      'dist/lean.cjs',
      'dist/lean.cjs.codecache',
    ])
    expect(paths.filter((path) => !/^(bin\/run\.cjs|dist\/|\.oclif\.manifest\.json$|package\.json$|README\.md$)/.test(path))).toEqual([])

    const prefix = tempDir()
    await execa('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', join(packDir, packed.filename)], {timeout: 240_000})
    // Everything elect loads is in its bundle: the install brings no other package.
    expect(existsSync(join(prefix, 'lib', 'node_modules', 'elect', 'node_modules'))).toBe(false)
    const installed = join(prefix, 'bin', 'elect')
    const env = {ELECT_ENDPOINTS: inject('etcdEndpoints').join(',')}
    const version = await execa(installed, ['--version'], {env})
    expect(version.stdout).toMatch(/^elect\/\d+\.\d+\.\d+ /)
    const help = await execa(installed, ['--help'], {env})
    expect(help.stdout).toContain('run-if-leader')
    const name = uniqueName('installed')
    const ran = await execa(installed, ['run-if-leader', name, '--', 'sh', '-c', 'echo "$ELECT_NAME"'], {env, reject: false})
    expect([ran.exitCode, ran.stdout, ran.stderr]).toEqual([0, name, ''])
    const nobody = await execa(installed, ['who-leads', name], {env, reject: false})
    expect([nobody.exitCode, nobody.stderr]).toEqual([3, `elect: nobody leads ${name}`])
  }, 300_000)

  it("on a Node the build did not make code for, leaves V8's code of each bundle in the user's cache and uses it", async () => {
    // The package without the build's code, as a Node of another version finds it.
    const packageDir = tempDir()
    for (const file of ['bin/run.cjs', 'dist/elect.cjs', 'dist/lean.cjs', 'package.json', '.oclif.manifest.json']) {
      mkdirSync(dirname(join(packageDir, file)), {recursive: true})
      copyFileSync(join(root, file), join(packageDir, file))
    }
    const cacheHome = tempDir()
    mkdirSync(join(cacheHome, 'elect'))
    // What a version of elect with one bundle left.
    writeFileSync(join(cacheHome, 'elect', `code-${process.version}-${process.arch}-1-2-3`), 'old code')
    // who-leads starts on the lean bundle; with ELECT_LEAN=0, on oclif's.
    for (const [bundle, lean] of [
      ['lean', '1'],
      ['elect', '0'],
    ]) {
      const env = {ELECT_ENDPOINTS: inject('etcdEndpoints').join(','), XDG_CACHE_HOME: cacheHome, ELECT_LEAN: lean}
      const whoLeads = () => execa(process.execPath, [join(packageDir, 'bin/run.cjs'), 'who-leads', uniqueName('cached')], {env, reject: false})
      const cached = () => readdirSync(join(cacheHome, 'elect')).filter((name) => name.startsWith(`${bundle}-${process.version}-`))
      expect((await whoLeads()).exitCode).toBe(3)
      expect(cached()).toHaveLength(1)
      const file = join(cacheHome, 'elect', cached()[0])
      const written = statSync(file).mtimeMs
      // Accepted by V8: not written again.
      expect((await whoLeads()).exitCode).toBe(3)
      expect(statSync(file).mtimeMs).toBe(written)
      // Rejected (not V8's): replaced by good code after the run, which still works.
      writeFileSync(file, 'not code')
      expect((await whoLeads()).exitCode).toBe(3)
      expect(readFileSync(file).length).toBeGreaterThan(10_000)
      expect(cached()).toHaveLength(1)
    }
    expect(readdirSync(join(cacheHome, 'elect')).filter((name) => name.startsWith('code-'))).toEqual([])
  })
})

describe('the development install', () => {
  it("has a decision in package.json's allowScripts for every dependency with an install script, so npm ci warns of none", () => {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {packages: Record<string, {hasInstallScript?: boolean}>}
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length))
    const {allowScripts} = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {allowScripts: Record<string, boolean>}
    expect(withScripts.length).toBeGreaterThan(0)
    expect([...new Set(withScripts)].sort()).toEqual(Object.keys(allowScripts).sort())
  })
})
