// Percentiles and rates of the benchmark's measurements: pure, so that the unit tier checks them.

/**
 * The p-th percentile (0 < p ≤ 100) by the nearest-rank method: the smallest value with at least p % of
 * the values at or below it. Always a measured value, never an interpolation; undefined for no values.
 */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (!(p > 0 && p <= 100)) throw new Error(`percentile must be in (0, 100], not ${p}`);
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1];
}

export interface Latency {
  p50?: number;
  p99?: number;
  max?: number;
}

export function latency(values: readonly number[]): Latency {
  return { p50: percentile(values, 50), p99: percentile(values, 99), max: percentile(values, 100) };
}

/** Events per second over a span in milliseconds; undefined when there is nothing to divide. */
export function perSecond(count: number, spanMs: number): number | undefined {
  return count > 0 && spanMs > 0 ? count / (spanMs / 1000) : undefined;
}
