#!/usr/bin/env node
import {execute, settings} from '@oclif/core'

// Always the compiled dist/: with NODE_ENV=development or test, oclif would otherwise look for the
// TypeScript sources (which an installed package does not have) and warn.
settings.enableAutoTranspile = false

// gRPC sets the TLS server name to the endpoint's IP address, which Node deprecates with a warning
// on every TLS connection; deprecation notices are for elect's developers, not its users.
process.noDeprecation = true

await execute({dir: import.meta.url})
// etcd3 leaves gRPC channels and timers behind even after close(); every command has released what
// it holds by now, so exit instead of waiting for them to wind down.
process.exit()
