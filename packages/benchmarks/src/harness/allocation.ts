/**
 * Heap allocation and GC time of this process over a measured window.
 *
 * V8 keeps no running total of bytes allocated, but it can be rebuilt: the
 * heap in use at the end, minus at the start, plus what every collection in
 * between freed. `v8.GCProfiler` reports each collection's heap before and
 * after and its cost in µs, with no --trace-gc and no heap snapshot; its own
 * overhead is a few statistics reads per collection.
 *
 * Buffers' backing stores live outside the V8 heap (external memory) and are
 * not counted: the figure is JavaScript objects, the garbage the GC chases.
 */
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';

export interface AllocationFigures {
  /** V8 heap bytes allocated during the window. */
  heapBytes: number;
  /** Share of the window's wall time spent in garbage collection, 0..1. */
  gcShare: number;
}

export class AllocationMeter {
  private profiler: v8.GCProfiler | null = null;
  private heapAtStart = 0;
  private startedAt = 0;

  start(): void {
    this.profiler?.stop();
    this.profiler = new v8.GCProfiler();
    this.profiler.start();
    this.heapAtStart = v8.getHeapStatistics().used_heap_size;
    this.startedAt = performance.now();
  }

  /** The figures since `start()`; null when the meter was not started. */
  stop(): AllocationFigures | null {
    const profiler = this.profiler;
    if (profiler === null) return null;
    this.profiler = null;
    const heapAtEnd = v8.getHeapStatistics().used_heap_size;
    const elapsedUs = (performance.now() - this.startedAt) * 1000;
    const { statistics } = profiler.stop();
    let freed = 0;
    let gcUs = 0;
    for (const gc of statistics) {
      freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
      gcUs += gc.cost;
    }
    return {
      heapBytes: Math.max(0, heapAtEnd - this.heapAtStart + freed),
      gcShare: elapsedUs > 0 ? Math.min(1, gcUs / elapsedUs) : 0,
    };
  }
}
