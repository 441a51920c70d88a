/**
 * A guided tour of the RocketMQ remoting wire format: one realistic
 * SEND_MESSAGE request encoded with a JSON header and with the binary
 * (ROCKETMQ) header, each byte annotated, decoded back, and answered.
 *
 *   npx -y pnpm@10 tour      (from anywhere in the repository)
 */
import 'reflect-metadata';
import {
  LanguageCode,
  languageName,
  ResponseCode,
  SerializeType,
  serializeTypeName,
} from '../protocol/codes.js';
import { HeaderField } from '../protocol/custom-header.js';
import { explainFrame, formatExplanation } from '../protocol/frame-explainer.js';
import { RemotingCommand } from '../protocol/remoting-command.js';
import { parseCommandLine } from './usage.js';

const USAGE = `usage: npx -y pnpm@10 tour [--help]
  A guided tour of the RocketMQ remoting wire format: one SEND_MESSAGE request
  with a JSON and with a binary header, every byte annotated, decoded and
  answered. Takes no options.`;

// Before any output: a help request or a bad option ends the tour here.
if (parseCommandLine('tour', USAGE, { args: process.argv.slice(2), options: {} }) === null) {
  process.exit();
}
// `pnpm tour | head` closes the pipe early: stop quietly instead of crashing on EPIPE.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

/** SEND_MESSAGE, as RocketMQ's RequestCode numbers it. */
const SEND_MESSAGE = 10;

/** The fields of RocketMQ's SendMessageRequestHeader a producer always sends. */
class SendMessageHeader {
  @HeaderField({ type: 'string', required: true })
  producerGroup?: string;
  @HeaderField({ type: 'string', required: true })
  topic?: string;
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
  @HeaderField({ type: 'string' })
  properties?: string;
}

/** Show whole headers (the tour's frames are small) and keep lines near 120 columns. */
const FORMAT = { maxBytesPerRow: 1024, valueWidth: 44 };

const out = (line = '') => process.stdout.write(`${line}\n`);
const heading = (title: string) => {
  out();
  out(title);
  out('='.repeat(title.length));
};

function summary(cmd: RemotingCommand): Record<string, unknown> {
  return {
    code: cmd.code,
    language: languageName(cmd.language),
    version: cmd.version,
    opaque: cmd.opaque,
    flag: cmd.flag,
    remark: cmd.remark,
    extFields: cmd.extFields === null ? null : Object.fromEntries(cmd.extFields),
    body: cmd.body?.toString('utf8') ?? null,
  };
}

function sameFields(a: RemotingCommand, b: RemotingCommand): boolean {
  return JSON.stringify(summary(a)) === JSON.stringify(summary(b));
}

const header = new SendMessageHeader();
header.producerGroup = 'please_rename_unique_group_name';
header.topic = 'TopicTest';
header.defaultTopic = 'TBW102';
header.defaultTopicQueueNums = 4;
header.queueId = 2;
header.sysFlag = 0;
header.bornTimestamp = 1718000000123n;
header.flag = 0;
// RocketMQ joins message properties with \u0001 between name and value and \u0002 between pairs.
header.properties = 'KEYS\u0001order-1001\u0002TAGS\u0001TagA\u0002';

const request = new RemotingCommand(SEND_MESSAGE, 42);
request.language = LanguageCode.JAVA;
request.version = 407;
request.writeCustomHeader(header);
request.setBody('Hello RocketMQ');

heading('The RocketMQ remoting frame');
out('Every message, request or response, is one frame:');
out('  [int32 total length][int32 serializeType<<24 | headerLength][header][body]');
out('The total length counts everything after itself. The header carries code,');
out('language, version, opaque (the request id a response echoes), flag (bit 0 =');
out('response, bit 1 = oneway), an optional remark and extFields, a string map');
out('into which typed request headers are flattened.');
out();
out(`The request: SEND_MESSAGE (code ${SEND_MESSAGE}), opaque ${request.opaque}, a 14-byte body,`);
out(`and a SendMessageRequestHeader of ${request.extFields?.size ?? 0} fields in extFields.`);

const frames: Array<[SerializeType, Buffer]> = [SerializeType.JSON, SerializeType.ROCKETMQ].map((type) => [
  type,
  request.encode(type),
]);

for (const [type, frame] of frames) {
  const name = serializeTypeName(type);
  heading(`The request with a ${name} header: ${frame.length} bytes`);
  out(
    type === SerializeType.JSON
      ? 'JSON headers are what RocketMQ sends by default: keys sorted as fastjson writes them.'
      : 'The binary header: fixed-width big-endian numbers and length-prefixed UTF-8 strings.',
  );
  out();
  out(formatExplanation(explainFrame(frame), FORMAT));
  const back = RemotingCommand.decode(frame);
  out();
  out(`Decoded back: code ${back.code}, opaque ${back.opaque}, ${back.extFields?.size ?? 0} extFields,`);
  out(
    `body "${back.body?.toString('utf8')}". Same fields as sent: ${sameFields(back, request) ? 'yes' : 'NO'}.`,
  );
}

const [jsonFrame, binaryFrame] = frames.map(([, frame]) => frame.length);
heading('Size');
out(
  `The same request is ${jsonFrame} bytes with a JSON header and ${binaryFrame} bytes with the binary one.`,
);

const received = RemotingCommand.decode(frames[1]?.[1] ?? Buffer.alloc(0));
const response = RemotingCommand.responseTo(received, ResponseCode.SUCCESS);
response.language = LanguageCode.JAVA;
response.addExtField('msgId', 'C0A8000100002A9F0000000000000001').addExtField('queueId', '2');
response.addExtField('queueOffset', '1024');
const responseFrame = response.encode();

heading(`The broker's response: ${responseFrame.length} bytes`);
out('A response carries the request opaque unchanged and sets flag bit 0. It is');
out('written in the serialization the request came in (here the binary one).');
out();
out(formatExplanation(explainFrame(responseFrame), FORMAT));
const answer = RemotingCommand.decode(responseFrame);
out();
out(
  `Decoded: ${answer.isResponse() ? 'a response' : 'a request'} to opaque ${answer.opaque}, ` +
    `code ${answer.code} (${answer.isSuccess() ? 'SUCCESS' : 'failure'}), ` +
    `queueOffset ${answer.getExtField('queueOffset')}.`,
);
out();
