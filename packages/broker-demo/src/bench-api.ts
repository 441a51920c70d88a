/**
 * What @remoting-ts/benchmarks uses of the broker demo (the package's
 * `./bench` export): the local cluster launcher, the clients, and the log
 * and protocol pieces the fetch-path measurement serves from.
 */
export { createTopic } from './client/admin.js';
export { ClusterClient } from './client/cluster-client.js';
export { ConsumedBatch, type ConsumeOptions, consumePartition } from './client/consumer.js';
export {
  PRODUCER_DEFAULTS,
  ProduceFailedError,
  type ProduceRecord,
  Producer,
  type ProducerOptions,
  type RecordMetadata,
} from './client/producer/producer.js';
export { LocalCluster, type LocalClusterOptions } from './cluster/local-cluster.js';
export { formatCoordinatorUrl } from './coordination/etcd/etcd-url.js';
export { etcdAvailability, LocalEtcd } from './coordination/etcd/local-etcd.js';
export { PartitionLog } from './log/index.js';
export { Acks, acksName, RequestCode } from './protocol/codes.js';
export { FetchRequestHeader, FetchResponseHeader, header } from './protocol/headers.js';
export { encodeProducerBatch, forEachValue } from './protocol/records-codec.js';
