/** Registers the built-in suites, in the order `--suite all` runs them. */
import { brokerSuite } from './broker.js';
import { clusterSuite } from './cluster.js';
import { codecSuite } from './codec.js';
import { invokeSuite } from './invoke.js';
import { registerSuite } from './registry.js';

registerSuite(invokeSuite);
registerSuite(clusterSuite);
registerSuite(codecSuite);
registerSuite(brokerSuite);

export { registeredSuites, selectSuites } from './registry.js';
