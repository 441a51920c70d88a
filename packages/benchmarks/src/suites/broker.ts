/**
 * The broker suite's place. The broker-demo issue fills it in: produce with
 * acks 0 / 1 / all × min.insync.replicas against a replicated partition,
 * through the same harness (worker processes, timing, reports). Until then it
 * says so, and the bench command prints that instead of figures.
 */
import type { Suite } from './registry.js';

export const brokerSuite: Suite = {
  name: 'broker',
  description: 'produce throughput and latency, acks 0/1/all × min.insync.replicas (ISR broker demo)',
  unavailable:
    'the broker suite is not available yet: it is added with the broker demo (acks 0/1/all × min.insync.replicas)',
  plan() {
    return Promise.reject(new Error(this.unavailable));
  },
};
