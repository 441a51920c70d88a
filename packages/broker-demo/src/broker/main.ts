import { runBrokerProcess } from './broker-command.js';

// The process `broker cluster` spawns for each broker (and `broker start` runs in the foreground).
await runBrokerProcess(process.argv.slice(2));
