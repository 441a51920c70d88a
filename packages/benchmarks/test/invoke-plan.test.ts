import { describe, expect, test } from 'vitest';
import { fullShapes, GOAL_SHAPES, planInvokeCases, sameShape } from '../src/suites/invoke-plan.js';
import type { ImplName } from '../src/types.js';

const ALL: ImplName[] = ['raw-net', 'grpc-js', 'remoting-ts'];

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
      expect(names).toEqual(expected.sort());
    }
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
