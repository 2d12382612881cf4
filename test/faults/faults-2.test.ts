// Share 2 of 3 of the fault scenarios: see fault-trials.ts.
import {describeFaults} from './fault-trials.js'

describeFaults(2, 3)
