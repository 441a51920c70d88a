/**
 * The remark of a SYSTEM_ERROR response for a processor that threw, in the
 * shape RocketMQ's `RemotingHelper.exceptionSimpleDesc` gives it: the error's
 * `toString()` (`Name: message`), a comma, and the first frame of its stack.
 * Java writes that frame as `pkg.Class.method(File.java:42)`; we write
 * `Class.method(file.ts:42:7)`, the file's base name only, so a remark never
 * tells the peer where the server's code lives on disk.
 *
 * Examples: `RangeError: no such key, KvStore.get(kv.ts:42:11)`;
 * `Error: boom` (no stack); `"text"` thrown as is: `text`.
 */
export function exceptionSimpleDesc(thrown: unknown): string {
  if (!(thrown instanceof Error)) return String(thrown);
  const head = thrown.message === '' ? thrown.name : `${thrown.name}: ${thrown.message}`;
  const frame = firstStackFrame(thrown.stack);
  return frame === null ? head : `${head}, ${frame}`;
}

// V8 frames: "    at fn (location)", "    at location", "    at async fn (location)".
const FRAME = /^\s*at (?:async )?(?:(.+?) \((.+)\)|(.+))$/;

/** The top frame of a V8 stack as `function(file:line:column)`, or null when there is none. */
export function firstStackFrame(stack: string | undefined): string | null {
  if (stack === undefined) return null;
  for (const line of stack.split('\n')) {
    const match = FRAME.exec(line);
    if (match === null) continue;
    const functionName = match[1] ?? '<anonymous>';
    const location = baseName(match[2] ?? match[3] ?? '');
    return `${functionName}(${location})`;
  }
  return null;
}

/** "file:///srv/app/kv.ts:42:11" or "/srv/app/kv.ts:42:11" → "kv.ts:42:11"; "native" stays. */
function baseName(location: string): string {
  const slash = Math.max(location.lastIndexOf('/'), location.lastIndexOf('\\'));
  return slash === -1 ? location : location.slice(slash + 1);
}
