import { ConsecutiveBreaker, circuitBreaker, ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { Etcd3, type IKeyValue, isRecoverableError } from 'etcd3';
import type { EtcdKeyValue } from './etcd-cluster-state.js';

/**
 * How the brokers' etcd client behaves when etcd or the way to it fails.
 * etcd3's own defaults suit a long-lived service (a host's circuit stays open
 * 5 s, a dropped watch waits up to 30 s to reconnect); a broker's session
 * lasts a few seconds, so every wait here is shorter than one.
 */
export const ETCD_CLIENT_TIMINGS = {
  /** Every unary call (get, put, txn, lease grant) gives up after this. */
  callTimeoutMs: 2000,
  /** A member whose calls failed 3 times in a row is skipped this long, then tried again. */
  hostHalfOpenAfterMs: 1000,
  /** A dropped watch stream reconnects after 100 ms, backing off to at most 1 s. */
  watchBackoffInitialMs: 100,
  watchBackoffMaxMs: 1000,
  /**
   * HTTP/2 pings while calls are open, so a connection into a black hole is
   * eventually dropped and dialled again. Never more often than etcd
   * tolerates (its --grpc-keepalive-min-time, 5 s by default; a client that
   * pings more often is cut off), and not on idle connections, which etcd
   * also counts against the client. Safety does not rest on it: the session
   * runs out on its own clock (etcd-session.ts).
   */
  grpcKeepaliveMs: 10_000,
  grpcKeepaliveTimeoutMs: 5000,
} as const;

/** An etcd3 client for `endpoints` ("http://host:port") with the timings above. */
export function createEtcdClient(endpoints: readonly string[]): Etcd3 {
  return new Etcd3({
    hosts: [...endpoints],
    dialTimeout: ETCD_CLIENT_TIMINGS.callTimeoutMs,
    defaultCallOptions: (context) =>
      context.isStream ? {} : { deadline: Date.now() + ETCD_CLIENT_TIMINGS.callTimeoutMs },
    grpcOptions: {
      'grpc.keepalive_time_ms': ETCD_CLIENT_TIMINGS.grpcKeepaliveMs,
      'grpc.keepalive_timeout_ms': ETCD_CLIENT_TIMINGS.grpcKeepaliveTimeoutMs,
      'grpc.keepalive_permit_without_calls': 0,
      // Reconnect quickly once a member is back (gRPC's default backoff grows to 2 min).
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    },
    faultHandling: {
      host: () =>
        circuitBreaker(handleWhen(isRecoverableError), {
          halfOpenAfter: ETCD_CLIENT_TIMINGS.hostHalfOpenAfterMs,
          breaker: new ConsecutiveBreaker(3),
        }),
      global: retry(handleWhen(isRecoverableError), { maxAttempts: 2 }),
      // etcd3 takes the first step of a backoff and calls next() on it for each retry.
      watchBackoff: new ExponentialBackoff({
        initialDelay: ETCD_CLIENT_TIMINGS.watchBackoffInitialMs,
        maxDelay: ETCD_CLIENT_TIMINGS.watchBackoffMaxMs,
      }).next(),
    },
  });
}

/** etcd3's key-value (revisions as decimal strings) as the cluster state takes it. */
export function toKeyValue(kv: IKeyValue): EtcdKeyValue {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value,
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    lease: kv.lease,
  };
}
