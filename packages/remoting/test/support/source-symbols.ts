/**
 * Finds definitions in TypeScript source text, for the tests that keep
 * documentation pointing at real code (learn's step catalogue, the
 * walkthrough's `file#Lnn` links). Textual on purpose: it asks what a reader
 * following the link would see.
 */

/** The text of `class name`'s body (up to the next top-level class), or null when the file has no such class. */
function classBody(source: string, name: string): string | null {
  const start = new RegExp(`^(?:export )?(?:abstract )?class ${name}\\b`, 'm').exec(source);
  if (start === null) return null;
  const rest = source.slice(start.index + start[0].length);
  const next = /^(?:export )?(?:abstract )?class \w/m.exec(rest);
  return next === null ? rest : rest.slice(0, next.index);
}

/** Modifiers that may precede a member's name. */
const MODIFIERS = '(?:(?:private|protected|public|static|readonly|async|abstract|override|get|set)\\s+)*';

/** Whether `text` defines member `name` (method, accessor, or function-valued field) on some line. */
function definesMember(text: string, name: string): boolean {
  if (name === 'constructor') return /^\s+(?:private |protected |public )?constructor\s*\(/m.test(text);
  return new RegExp(`^\\s+${MODIFIERS}${name}\\s*(?:\\(|<|=|:|\\?)`, 'm').test(text);
}

/**
 * Whether `source` defines `fn`: "Class.member" (a member of that class),
 * or a bare name (a function, class, or const of the module, or a function
 * declared inside one, such as a worker's `const invoke = ...`).
 */
export function definesFunction(source: string, fn: string): boolean {
  const dot = fn.indexOf('.');
  if (dot >= 0) {
    const body = classBody(source, fn.slice(0, dot));
    return body !== null && definesMember(body, fn.slice(dot + 1));
  }
  return new RegExp(
    `^\\s*(?:export )?(?:(?:async )?function\\*? ${fn}\\b|(?:abstract )?class ${fn}\\b|const ${fn}\\s*=)`,
    'm',
  ).test(source);
}

/** Whether line `text` names `symbol`: the last part of "Class.member", or the whole bare name, as a word. */
export function lineNames(text: string, symbol: string): boolean {
  const name = symbol.split('.').at(-1) as string;
  return new RegExp(`(?<![\\w$])${name.replace(/\$/g, '\\$')}(?![\\w$])`).test(text);
}
