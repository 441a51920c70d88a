import { languageName, ResponseCode, serializeTypeName } from '../protocol/codes.js';
import type { RemotingCommand } from '../protocol/remoting-command.js';

const codeNames = new Map<number, string>(Object.entries(ResponseCode).map(([name, code]) => [code, name]));

/** The body as text when it is printable UTF-8, else as hex. */
export function describeBody(body: Buffer | null): { encoding: 'utf8' | 'hex'; text: string } | null {
  if (body === null || body.length === 0) return null;
  const text = body.toString('utf8');
  const roundTrips = Buffer.byteLength(text, 'utf8') === body.length && !text.includes('\uFFFD');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters mean "not text"
  const printable = !/[\u0000-\u0008\u000E-\u001F\u007F]/.test(text);
  return roundTrips && printable
    ? { encoding: 'utf8', text }
    : { encoding: 'hex', text: body.toString('hex') };
}

/** A response as one JSON-friendly object. */
export function responseToJson(response: RemotingCommand, elapsedMs: number): Record<string, unknown> {
  const body = describeBody(response.body);
  return {
    code: response.code,
    codeName: codeNames.get(response.code) ?? null,
    remark: response.remark,
    opaque: response.opaque,
    flag: response.flag,
    language: languageName(response.language),
    version: response.version,
    serializeType: serializeTypeName(response.serializeType),
    extFields: response.extFields === null ? null : Object.fromEntries(response.extFields),
    bodyBytes: response.body?.length ?? 0,
    body: body?.text ?? null,
    bodyEncoding: body?.encoding ?? null,
    elapsedMs,
  };
}

/** A response for people: one field a line. */
export function formatResponse(response: RemotingCommand, elapsedMs: number): string {
  const name = codeNames.get(response.code);
  const lines = [
    `code:       ${response.code}${name ? ` (${name})` : ''}`,
    `remark:     ${response.remark === null ? '(none)' : JSON.stringify(response.remark)}`,
    `opaque:     ${response.opaque}   flag: ${response.flag}   language: ${languageName(response.language)}   version: ${response.version}   serialize: ${serializeTypeName(response.serializeType)}`,
  ];
  if (response.extFields === null || response.extFields.size === 0) lines.push('extFields:  (none)');
  else {
    lines.push('extFields:');
    for (const [key, value] of response.extFields) lines.push(`  ${key} = ${value}`);
  }
  const body = describeBody(response.body);
  lines.push(
    body === null
      ? 'body:       (none)'
      : `body:       ${response.body?.length} bytes, ${body.encoding}: ${body.text}`,
  );
  lines.push(`elapsed:    ${elapsedMs.toFixed(1)} ms`);
  return lines.join('\n');
}
