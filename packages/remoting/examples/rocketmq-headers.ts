/**
 * Two of RocketMQ's own request headers written with `@HeaderField`, field for
 * field as in org.apache.rocketmq.common.protocol.header (4.9.x). `required`
 * marks RocketMQ's @CFNotNull fields; Java `Integer` is `int`, `Long` is `long`
 * (a bigint, so commit-log offsets keep every digit), `boolean` is `boolean`.
 * A RocketMQ broker accepts the extFields these produce, and a RocketMQ client's
 * extFields decode into them.
 */
import { HeaderField } from '../src/index.js';

/** SEND_MESSAGE (code 10): what a producer sends with each message. */
export class SendMessageRequestHeader {
  @HeaderField({ type: 'string', required: true })
  producerGroup?: string;
  @HeaderField({ type: 'string', required: true })
  topic?: string;
  /** The topic a new topic is created from, normally "TBW102". */
  @HeaderField({ type: 'string', required: true })
  defaultTopic?: string;
  @HeaderField({ type: 'int', required: true })
  defaultTopicQueueNums?: number;
  @HeaderField({ type: 'int', required: true })
  queueId?: number;
  @HeaderField({ type: 'int', required: true })
  sysFlag?: number;
  @HeaderField({ type: 'long', required: true })
  bornTimestamp?: bigint;
  @HeaderField({ type: 'int', required: true })
  flag?: number;
  /** Message properties joined with RocketMQ's separators (\u0001 between name and value, \u0002 between pairs). */
  @HeaderField({ type: 'string' })
  properties?: string;
  @HeaderField({ type: 'int' })
  reconsumeTimes?: number;
  // Java primitives: always present on the wire, false unless set.
  @HeaderField({ type: 'boolean' })
  unitMode = false;
  @HeaderField({ type: 'boolean' })
  batch = false;
  @HeaderField({ type: 'int' })
  maxReconsumeTimes?: number;
}

/** PULL_MESSAGE (code 11): what a consumer sends to fetch from a queue. */
export class PullMessageRequestHeader {
  @HeaderField({ type: 'string', required: true })
  consumerGroup?: string;
  @HeaderField({ type: 'string', required: true })
  topic?: string;
  @HeaderField({ type: 'int', required: true })
  queueId?: number;
  @HeaderField({ type: 'long', required: true })
  queueOffset?: bigint;
  @HeaderField({ type: 'int', required: true })
  maxMsgNums?: number;
  @HeaderField({ type: 'int', required: true })
  sysFlag?: number;
  @HeaderField({ type: 'long', required: true })
  commitOffset?: bigint;
  @HeaderField({ type: 'long', required: true })
  suspendTimeoutMillis?: bigint;
  @HeaderField({ type: 'string' })
  subscription?: string;
  @HeaderField({ type: 'long', required: true })
  subVersion?: bigint;
  /** "TAG" or "SQL92". */
  @HeaderField({ type: 'string' })
  expressionType?: string;
}
