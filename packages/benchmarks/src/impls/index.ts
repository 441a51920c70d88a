import type { ImplName, InvokeMode, Serialize } from '../types.js';
import type { Impl } from './types.js';

/** What the case planner needs to know about an implementation without loading it. */
export interface ImplTraits {
  name: ImplName;
  serializations: Serialize[];
  oneway: boolean;
  /** Why oneway is not measured, for the report. */
  onewayNote?: string;
  /** The invoke shapes it can run, when not every one; `shapesNote` says why, for the report. */
  accepts?: (shape: { mode: InvokeMode; connections: number }) => boolean;
  shapesNote?: string;
}

/** Baselines first: the terminal table and charts read in this order. */
export const IMPLS: readonly ImplTraits[] = [
  { name: 'raw-net', serializations: [null], oneway: true },
  {
    name: 'grpc-js',
    serializations: [null],
    oneway: false,
    onewayNote: 'gRPC has no oneway call (every unary call has a response): not applicable',
  },
  { name: 'remoting-ts', serializations: ['JSON', 'ROCKETMQ'], oneway: true },
  {
    name: 'remoting-ts-blocking',
    serializations: ['ROCKETMQ'],
    oneway: false,
    accepts: (shape) => shape.mode === 'sync' && shape.connections === 1,
    shapesNote:
      'a call that parks its thread is measured as sequential sync calls on 1 connection; ' +
      'a parked thread cannot keep other connections busy',
  },
];

export function implTraits(name: ImplName): ImplTraits {
  const traits = IMPLS.find((impl) => impl.name === name);
  if (traits === undefined) throw new Error(`unknown implementation ${name}`);
  return traits;
}

export function isImplName(name: string): name is ImplName {
  return IMPLS.some((impl) => impl.name === name);
}

/** Loaded on demand, so a process only pays for (and only needs) the implementation it runs. */
export async function loadImpl(name: ImplName): Promise<Impl> {
  switch (name) {
    case 'raw-net':
      return (await import('./raw-net.js')).rawNetImpl;
    case 'grpc-js':
      return (await import('./grpc.js')).grpcImpl;
    case 'remoting-ts':
      return (await import('./remoting-ts.js')).remotingTsImpl;
    case 'remoting-ts-blocking':
      return (await import('./remoting-ts-blocking.js')).remotingTsBlockingImpl;
  }
}

/**
 * Why an implementation cannot run in this checkout, or null when it can.
 * remoting-ts needs the framework's runtime (RemotingServer/RemotingClient),
 * which may not exist yet while the protocol layer alone does.
 */
export async function unavailableReason(name: ImplName): Promise<string | null> {
  if (name !== 'remoting-ts' && name !== 'remoting-ts-blocking') return null;
  const framework: Record<string, unknown> = await import('@remoting-ts/remoting');
  const client = name === 'remoting-ts' ? 'RemotingClient' : 'BlockingRemotingClient';
  for (const needed of ['RemotingServer', client]) {
    if (typeof framework[needed] !== 'function') {
      return `@remoting-ts/remoting does not export ${needed} yet (the runtime has not landed)`;
    }
  }
  return null;
}
