import { describe, expect, test } from 'vitest';
import { IMPLS } from '../src/impls/index.js';
import { fullShapes, GOAL_SHAPES, planInvokeCases, sameShape } from '../src/suites/invoke-plan.js';
import type { ImplName } from '../src/types.js';

const ALL: ImplName[] = IMPLS.map((impl) => impl.name);

describe('the invoke matrix', () => {
  test('a full run covers modes × bodies × connections', () => {
    const { shapes } = fullShapes();
    // sync + 4 async + oneway, per body and connection count, less async ×1 on 4 connections.
    expect(shapes).toHaveLength(6 * 4 * 2 - 4);
  });

  test('a quick run has every goal shape for every implementation and serialization', () => {
    const { cases } = planInvokeCases({ quick: true, goalsOnly: false, impls: ALL, unavailable: new Map() });
    for (const goal of GOAL_SHAPES) {
      const at = cases.filter((c) => sameShape(c, goal));
      const names = at.map((c) => `${c.impl}/${c.serialize}`).sort();
      const expected = ['raw-net/null', 'remoting-ts/JSON', 'remoting-ts/ROCKETMQ'];
      if (goal.mode !== 'oneway') expected.push('grpc-js/null');
      if (goal.mode === 'sync' && goal.connections === 1) expected.push('remoting-ts-blocking/ROCKETMQ');
      expect(names).toEqual(expected.sort());
    }
  });

  test('--body and --connections narrow the shapes to one body size and connection count, and say so', () => {
    const { cases, skipped } = planInvokeCases({
      quick: false,
      goalsOnly: true,
      impls: ALL,
      unavailable: new Map(),
      bodies: [16384],
      connections: [1],
    });
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) expect(c).toMatchObject({ bodyBytes: 16384, connections: 1 });
    expect(skipped.map((s) => s.reason)).toEqual(
      expect.arrayContaining(['skipped by --body 16384', 'skipped by --connections 1']),
    );
  });

  test('a quick run says what it left out', () => {
    const { skipped } = planInvokeCases({
      quick: true,
      goalsOnly: false,
      impls: ALL,
      unavailable: new Map(),
    });
    expect(skipped.some((s) => s.reason === 'skipped by --quick')).toBe(true);
    expect(skipped.some((s) => s.impl === 'grpc-js' && s.description === 'oneway')).toBe(true);
  });

  test('the blocking client runs sequential sync calls on 1 connection only, and says why not the rest', () => {
    const { cases, skipped } = planInvokeCases({
      quick: false,
      goalsOnly: false,
      impls: ALL,
      unavailable: new Map(),
    });
    const blocking = cases.filter((c) => c.impl === 'remoting-ts-blocking');
    // One per body size, ROCKETMQ headers, beside remoting-ts and raw-net on the same shapes.
    expect(blocking.map((c) => c.bodyBytes).sort((a, b) => a - b)).toEqual([128, 1024, 16384, 262144]);
    for (const c of blocking) {
      expect(c).toMatchObject({ mode: 'sync', connections: 1, inflight: 1, serialize: 'ROCKETMQ' });
      for (const peer of ['raw-net', 'remoting-ts']) {
        expect(cases.some((other) => other.impl === peer && sameShape(other, c))).toBe(true);
      }
    }
    const notRun = skipped.filter((s) => s.impl === 'remoting-ts-blocking');
    expect(notRun.length).toBe(fullShapes().shapes.length - 4);
    for (const s of notRun) expect(s.reason).toContain('parks its thread');
  });

  test('an implementation that cannot run is reported, not silently dropped', () => {
    const reason = 'runtime not there';
    const { cases, skipped } = planInvokeCases({
      quick: true,
      goalsOnly: false,
      impls: ALL,
      unavailable: new Map([['remoting-ts', reason]]),
    });
    expect(cases.some((c) => c.impl === 'remoting-ts')).toBe(false);
    expect(skipped).toContainEqual({
      suite: 'invoke',
      impl: 'remoting-ts',
      description: 'every case',
      reason,
    });
  });
});
