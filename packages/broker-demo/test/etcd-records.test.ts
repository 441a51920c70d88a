import { describe, expect, test } from 'vitest';
import { checkTopicName } from '../src/controller/partition-rules.js';
import { EtcdKeyLayout } from '../src/coordination/etcd/etcd-records.js';
import { formatCoordinatorUrl, parseCoordinatorUrl } from '../src/coordination/etcd/etcd-url.js';
import { BrokerConfigError } from '../src/protocol/errors.js';

describe('--coordinator URL', () => {
  test('members are listed with commas; the root defaults to /broker-demo', () => {
    expect(parseCoordinatorUrl('etcd://10.0.0.1:2379,10.0.0.2:2379')).toEqual({
      endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'],
      root: '/broker-demo',
      url: 'etcd://10.0.0.1:2379,10.0.0.2:2379',
    });
    expect(parseCoordinatorUrl('etcd://h:1/teams/a').root).toBe('/teams/a');
    expect(formatCoordinatorUrl(['a:1', 'b:2'])).toBe('etcd://a:1,b:2');
    expect(parseCoordinatorUrl(formatCoordinatorUrl(['a:1'], '/x')).root).toBe('/x');
  });

  test.each([
    ['http://h:2379', 'etcd://HOST:PORT'],
    ['etcd://', 'etcd://HOST:PORT'],
    ['etcd://h', 'not HOST:PORT'],
    ['etcd://h:2379/a b', 'root'],
  ])('%s is refused, saying why', (url, why) => {
    expect(() => parseCoordinatorUrl(url)).toThrow(BrokerConfigError);
    expect(() => parseCoordinatorUrl(url)).toThrow(why);
  });
});

describe('key layout', () => {
  const keys = new EtcdKeyLayout('/c');
  test('every key the cluster writes parses back to what it is', () => {
    expect(keys.parse(keys.brokerRegistration(3))).toEqual({ kind: 'broker', brokerId: 3 });
    expect(keys.parse(keys.topic('a.b-c'))).toEqual({ kind: 'topic', topic: 'a.b-c' });
    expect(keys.parse(keys.partitionState('a', 12))).toEqual({
      kind: 'partition-state',
      topic: 'a',
      partition: 12,
    });
    expect(keys.parse(keys.controllerEpoch)).toEqual({ kind: 'controller-epoch' });
    expect(keys.parse(keys.config)).toEqual({ kind: 'config' });
    expect(keys.parse(`${keys.electionPrefix}694d8e`)).toEqual({ kind: 'election-candidate' });
    expect(keys.parse(keys.resignation('a', 0))).toEqual({ kind: 'resignation', topic: 'a', partition: 0 });
  });

  test("other clusters' keys and malformed ones are not ours", () => {
    expect(keys.parse('/d/brokers/ids/1')).toBeNull();
    expect(keys.parse('/c/brokers/ids/01')).toBeNull();
    expect(keys.parse('/c/topics/a/partitions/x/state')).toBeNull();
  });

  test("topic names follow Kafka's rule", () => {
    expect(checkTopicName('orders.v2_eu-1')).toBeNull();
    expect(checkTopicName('a/b')).toContain('only letters');
    expect(checkTopicName('..')).toContain('not allowed');
    expect(checkTopicName('x'.repeat(250))).toContain('249');
  });
});
