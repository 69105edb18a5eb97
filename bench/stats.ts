/** Latency percentiles and throughput for the benchmarks' printouts. */
export function summarise(label: string, latenciesMs: number[], elapsedMs: number) {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  return {
    label,
    operations: sorted.length,
    perSecond: Math.round((sorted.length / elapsedMs) * 1000),
    p50Ms: Number(at(50).toFixed(2)),
    p99Ms: Number(at(99).toFixed(2)),
  };
}

/** Runs `operation` `total` times with `concurrency` in flight; returns each one's latency. */
export async function drive(total: number, concurrency: number, operation: (i: number) => Promise<unknown>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) {
        const t0 = performance.now();
        await operation(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { latencies, elapsedMs: performance.now() - started };
}
