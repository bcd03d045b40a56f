import type { Registry } from "prom-client";

/** The value of one sample in the registry, e.g. value(r, "parley_events_processed_total", { status: "processed" }). */
export async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metrics = await registry.getMetricsAsJSON();
  for (const metric of metrics) {
    for (const sample of metric.values as Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>) {
      const sampleName = sample.metricName ?? metric.name;
      if (sampleName !== name) continue;
      if (Object.entries(labels).every(([key, expected]) => String(sample.labels[key]) === expected)) return sample.value;
    }
  }
  return undefined;
}
