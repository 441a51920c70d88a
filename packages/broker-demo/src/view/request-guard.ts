import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export type GuardVerdict = { ok: true } | { ok: false; status: number; reason: string };

/** The facts the guard needs about where the view server listens. */
export interface GuardOrigin {
  /** 127.0.0.1:PORT: the only Host a request may name (defeats DNS rebinding). */
  host: string;
  /** http://127.0.0.1:PORT: the only Origin a control request may come from. */
  origin: string;
  token: string;
}

/**
 * Any request: its Host must be the view server's own address. A page on
 * another name that resolves to 127.0.0.1 (DNS rebinding) would otherwise be
 * same-origin with it in the browser's eyes.
 */
export function checkHost(headers: IncomingHttpHeaders, expected: GuardOrigin): GuardVerdict {
  if (headers.host !== expected.host)
    return {
      ok: false,
      status: 421,
      reason: `Host must be ${expected.host}, not ${headers.host ?? '(none)'}`,
    };
  return { ok: true };
}

/**
 * A control request (which sends signals, restarts brokers or starts a
 * producer): same Host, sent by the page itself (Origin and, where the browser
 * sends it, Sec-Fetch-Site), carrying the per-cluster token the page was
 * served with, as JSON. Each refusal says which check failed.
 */
export function checkControlRequest(headers: IncomingHttpHeaders, expected: GuardOrigin): GuardVerdict {
  const host = checkHost(headers, expected);
  if (!host.ok) return host;
  const origin = headers.origin;
  if (origin !== expected.origin)
    return {
      ok: false,
      status: 403,
      reason: `Origin must be ${expected.origin}, not ${origin ?? '(none)'}`,
    };
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin')
    return { ok: false, status: 403, reason: `Sec-Fetch-Site must be same-origin, not ${site}` };
  const token = headers['x-view-token'];
  if (typeof token !== 'string' || !sameSecret(token, expected.token))
    return { ok: false, status: 403, reason: 'missing or wrong X-View-Token' };
  const type = headers['content-type'];
  if (type === undefined || type.split(';')[0]!.trim().toLowerCase() !== 'application/json')
    return { ok: false, status: 415, reason: 'Content-Type must be application/json' };
  return { ok: true };
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
