import { expect, test } from 'vitest';
import { BoundedExecutor } from '../src/remoting/bounded-executor.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

test('runs at most `concurrency` tasks at once and queues the rest in FIFO order', async () => {
  const executor = new BoundedExecutor({ concurrency: 2, queueCapacity: 10 });
  const gates = Array.from({ length: 5 }, deferred);
  const started: number[] = [];
  for (let i = 0; i < 5; i++) {
    const run = () => {
      started.push(i);
      return gates[i]?.promise;
    };
    expect(executor.trySubmit({ run })).toBe(true);
  }
  expect(started).toEqual([0, 1]);
  expect(executor.active).toBe(2);
  expect(executor.queued).toBe(3);
  gates[1]?.resolve();
  await gates[1]?.promise;
  await Promise.resolve();
  expect(started).toEqual([0, 1, 2]);
  for (const gate of gates) gate.resolve();
  expect(await executor.drain(1000)).toBe(true);
  expect(started).toEqual([0, 1, 2, 3, 4]);
  expect(executor.active).toBe(0);
});

test('refuses work once the queue is full, and never runs a refused task', () => {
  const executor = new BoundedExecutor({ concurrency: 1, queueCapacity: 1 });
  const blocker = deferred();
  let ran = 0;
  expect(executor.trySubmit({ run: () => blocker.promise })).toBe(true);
  expect(executor.trySubmit({ run: () => void ran++ })).toBe(true);
  expect(executor.trySubmit({ run: () => void ran++ })).toBe(false);
  expect(executor.queued).toBe(1);
  blocker.resolve();
});

test('a synchronous task runs in the caller tick, and a long queue of them never deepens the stack', async () => {
  const executor = new BoundedExecutor({ concurrency: 1, queueCapacity: 200_000 });
  let ran = 0;
  executor.trySubmit({ run: () => void ran++ });
  expect(ran).toBe(1);
  const blocker = deferred();
  executor.trySubmit({ run: () => blocker.promise });
  for (let i = 0; i < 100_000; i++) executor.trySubmit({ run: () => void ran++ });
  blocker.resolve();
  expect(await executor.drain(5000)).toBe(true);
  expect(ran).toBe(100_001);
});

test('a task that throws does not stop the queue', async () => {
  const executor = new BoundedExecutor({ concurrency: 1, queueCapacity: 10 });
  const blocker = deferred();
  let ran = 0;
  executor.trySubmit({ run: () => blocker.promise });
  executor.trySubmit({
    run: () => {
      throw new Error('bug');
    },
  });
  executor.trySubmit({ run: () => void ran++ });
  blocker.resolve();
  expect(await executor.drain(1000)).toBe(true);
  expect(ran).toBe(1);
});
