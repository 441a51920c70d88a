/**
 * The invoke suite's case matrix: which shapes a full run and a quick run
 * measure, for which implementations, and what is left out and why.
 */
import { formatBytes } from '../format.js';
import { IMPLS } from '../impls/index.js';
import type { ImplName, InvokeMode, Serialize, SkippedCase } from '../types.js';

export interface InvokeShape {
  mode: InvokeMode;
  bodyBytes: number;
  /** Total in flight over all connections; sync has one caller per connection. */
  inflight: number;
  connections: number;
}

export interface InvokeCase extends InvokeShape {
  impl: ImplName;
  serialize: Serialize;
}

export const BODY_SIZES = [128, 1024, 16384, 262144] as const;
export const ASYNC_INFLIGHT = [1, 16, 256, 1024] as const;
export const CONNECTION_COUNTS = [1, 4] as const;
/**
 * The in-flight figure oneway rows carry. A oneway sender has no window: it
 * sends until its transport says to back off; the figure only keeps the
 * shape's identity in reports.
 */
export const ONEWAY_WINDOW = 256;

const sync = (bodyBytes: number, connections: number): InvokeShape => ({
  mode: 'sync',
  bodyBytes,
  inflight: connections,
  connections,
});
const async = (bodyBytes: number, inflight: number, connections: number): InvokeShape => ({
  mode: 'async',
  bodyBytes,
  inflight,
  connections,
});
const oneway = (bodyBytes: number, connections: number): InvokeShape => ({
  mode: 'oneway',
  bodyBytes,
  inflight: ONEWAY_WINDOW,
  connections,
});

/**
 * The shapes the goals are judged on (see the issue): every run includes them.
 * The first three are the headline cases; 16 KiB shows the body path, and
 * 4 connections must keep the ratios of one.
 */
export const GOAL_SHAPES: readonly InvokeShape[] = [
  async(128, 256, 1),
  sync(128, 1),
  oneway(128, 1),
  async(16384, 256, 1),
  async(128, 256, 4),
  sync(128, 4),
  oneway(128, 4),
];

/** Quick: the goal shapes plus enough to draw throughput against in-flight and to show size and connections. */
const QUICK_EXTRA: readonly InvokeShape[] = [async(128, 1, 1), async(128, 16, 1), async(128, 1024, 1)];

export function sameShape(a: InvokeShape, b: InvokeShape): boolean {
  return (
    a.mode === b.mode &&
    a.bodyBytes === b.bodyBytes &&
    a.inflight === b.inflight &&
    a.connections === b.connections
  );
}

export function isGoalShape(shape: InvokeShape): boolean {
  return GOAL_SHAPES.some((goal) => sameShape(goal, shape));
}

export function describeShape(shape: InvokeShape): string {
  const what = shape.mode === 'async' ? `async ×${shape.inflight}` : shape.mode;
  return `${what}, ${formatBytes(shape.bodyBytes)}, ${shape.connections} conn`;
}

/** Every shape of the full matrix (goal shapes first), and the combinations that make no sense. */
export function fullShapes(): { shapes: InvokeShape[]; skipped: SkippedCase[] } {
  const shapes: InvokeShape[] = [...GOAL_SHAPES];
  const skipped: SkippedCase[] = [];
  for (const connections of CONNECTION_COUNTS) {
    for (const bodyBytes of BODY_SIZES) {
      const candidates = [
        sync(bodyBytes, connections),
        ...ASYNC_INFLIGHT.map((n) => async(bodyBytes, n, connections)),
        oneway(bodyBytes, connections),
      ];
      for (const shape of candidates) {
        if (shape.inflight < shape.connections) {
          skipped.push({
            suite: 'invoke',
            impl: '*',
            description: describeShape(shape),
            reason: `${shape.inflight} in flight cannot keep ${shape.connections} connections busy`,
          });
        } else if (!shapes.some((s) => sameShape(s, shape))) shapes.push(shape);
      }
    }
  }
  return { shapes, skipped };
}

export interface PlanInput {
  quick: boolean;
  goalsOnly: boolean;
  /** Implementations to run; others are neither run nor reported missing. */
  impls: readonly ImplName[];
  /** Why an implementation cannot run now (absent = it can). */
  unavailable: ReadonlyMap<ImplName, string>;
  /** Only these modes / serializations / body sizes / connection counts (profiling one path at a time); all when absent. */
  modes?: readonly string[];
  serializations?: readonly string[];
  bodies?: readonly number[];
  connections?: readonly number[];
}

export function planInvokeCases(input: PlanInput): { cases: InvokeCase[]; skipped: SkippedCase[] } {
  const full = fullShapes();
  const skipped: SkippedCase[] = [];
  let shapes: InvokeShape[];
  if (input.goalsOnly) {
    shapes = [...GOAL_SHAPES];
    skipped.push({
      suite: 'invoke',
      impl: '*',
      description: 'every non-goal shape',
      reason: 'skipped by --goals',
    });
  } else if (input.quick) {
    shapes = [...GOAL_SHAPES, ...QUICK_EXTRA];
    for (const shape of full.shapes) {
      if (!shapes.some((s) => sameShape(s, shape))) {
        skipped.push({
          suite: 'invoke',
          impl: '*',
          description: describeShape(shape),
          reason: 'skipped by --quick',
        });
      }
    }
    skipped.push(...full.skipped);
  } else {
    shapes = full.shapes;
    skipped.push(...full.skipped);
  }

  if (input.modes !== undefined) {
    const modes = input.modes;
    shapes = shapes.filter((shape) => modes.includes(shape.mode));
    skipped.push({
      suite: 'invoke',
      impl: '*',
      description: 'other modes',
      reason: `skipped by --mode ${modes.join(',')}`,
    });
  }
  if (input.bodies !== undefined) {
    const bodies = input.bodies;
    shapes = shapes.filter((shape) => bodies.includes(shape.bodyBytes));
    skipped.push({
      suite: 'invoke',
      impl: '*',
      description: 'other body sizes',
      reason: `skipped by --body ${bodies.join(',')}`,
    });
  }
  if (input.connections !== undefined) {
    const connections = input.connections;
    shapes = shapes.filter((shape) => connections.includes(shape.connections));
    skipped.push({
      suite: 'invoke',
      impl: '*',
      description: 'other connection counts',
      reason: `skipped by --connections ${connections.join(',')}`,
    });
  }
  const cases: InvokeCase[] = [];
  const selected = IMPLS.filter((traits) => input.impls.includes(traits.name));
  for (const traits of selected) {
    const reason = input.unavailable.get(traits.name);
    if (reason !== undefined) {
      skipped.push({ suite: 'invoke', impl: traits.name, description: 'every case', reason });
    } else if (traits.accepts !== undefined) {
      for (const shape of shapes) {
        if (traits.accepts(shape)) continue;
        skipped.push({
          suite: 'invoke',
          impl: traits.name,
          description: describeShape(shape),
          reason: traits.shapesNote ?? 'not applicable',
        });
      }
    } else if (!traits.oneway && shapes.some((s) => s.mode === 'oneway')) {
      skipped.push({
        suite: 'invoke',
        impl: traits.name,
        description: 'oneway',
        reason: traits.onewayNote ?? 'no oneway call',
      });
    }
  }
  let quickSerializationSkipped = false;
  // Shape-major order: every implementation measures a shape close together in
  // time, so the ratios of one shape share the machine's mood of the moment.
  for (const shape of shapes) {
    for (const traits of selected) {
      if (input.unavailable.has(traits.name)) continue;
      if (traits.accepts !== undefined && !traits.accepts(shape)) continue;
      if (shape.mode === 'oneway' && !traits.oneway) continue;
      for (const serialize of traits.serializations) {
        if (
          serialize !== null &&
          input.serializations !== undefined &&
          !input.serializations.includes(serialize)
        ) {
          continue;
        }
        const secondary = serialize !== traits.serializations[0];
        if (input.quick && secondary && !isGoalShape(shape)) {
          quickSerializationSkipped = true;
          continue;
        }
        cases.push({ ...shape, impl: traits.name, serialize });
      }
    }
  }
  if (quickSerializationSkipped) {
    skipped.push({
      suite: 'invoke',
      impl: 'remoting-ts',
      description: 'ROCKETMQ serialization outside the goal shapes',
      reason: 'skipped by --quick (JSON, the default, is measured for every shape)',
    });
  }
  return { cases, skipped };
}
