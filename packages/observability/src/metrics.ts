import { type Attributes, metrics } from "@opentelemetry/api";

export interface PipelineCounts {
  in: number;
  out: number;
  deadLettered: number;
  retries: number;
}

/**
 * The counters every stage keeps: records in, out, dead-lettered (per topic) and lag.
 * Exported through OpenTelemetry (a no-op until the host registers a MeterProvider) and also
 * kept as plain numbers for progress output, summaries and tests.
 */
export class PipelineMetrics {
  readonly stage: string;
  private readonly totals: PipelineCounts = { in: 0, out: 0, deadLettered: 0, retries: 0 };
  private readonly lagByPartition = new Map<string, number>();
  private readonly meter = metrics.getMeter("vigil");
  private readonly inCounter = this.meter.createCounter("vigil.records.in", {
    description: "Records consumed or read",
  });
  private readonly outCounter = this.meter.createCounter("vigil.records.out", {
    description: "Records produced",
  });
  private readonly dlqCounter = this.meter.createCounter("vigil.records.dead_lettered", {
    description: "Records routed to the dead-letter topic",
  });
  private readonly retryCounter = this.meter.createCounter("vigil.retries", {
    description: "Retried operations",
  });
  private readonly processingHistogram = this.meter.createHistogram("vigil.processing.duration", {
    description: "Time to handle one record (decode, judge, build outputs), milliseconds",
    unit: "ms",
  });
  private readonly tableSizes = new Map<string, number>();

  constructor(stage: string) {
    this.stage = stage;
    this.meter
      .createObservableGauge("vigil.consumer.lag", { description: "Records behind the end of a partition" })
      .addCallback((result) => {
        for (const [key, lag] of this.lagByPartition) {
          const [topic, partition] = key.split("#");
          result.observe(lag, { stage: this.stage, topic: topic ?? "", partition: Number(partition) });
        }
      });
    this.meter
      .createObservableGauge("vigil.table.size", { description: "Entries held in a reference table" })
      .addCallback((result) => {
        for (const [table, size] of this.tableSizes) result.observe(size, { stage: this.stage, table });
      });
  }

  /** How long one record took to handle, in milliseconds. */
  recordProcessing(topic: string, milliseconds: number): void {
    this.processingHistogram.record(milliseconds, this.attrs(topic));
  }

  /** The current sizes of the reference tables this stage holds (hosts, advisories, baselines, ...). */
  recordTableSizes(sizes: Record<string, number>): void {
    for (const [table, size] of Object.entries(sizes)) this.tableSizes.set(table, size);
  }

  recordIn(topic: string, count = 1): void {
    this.totals.in += count;
    this.inCounter.add(count, this.attrs(topic));
  }

  recordOut(topic: string, count = 1): void {
    this.totals.out += count;
    this.outCounter.add(count, this.attrs(topic));
  }

  recordDeadLetter(topic: string, kind: string, count = 1): void {
    this.totals.deadLettered += count;
    this.dlqCounter.add(count, { ...this.attrs(topic), kind });
  }

  recordRetry(operation: string): void {
    this.totals.retries += 1;
    this.retryCounter.add(1, { stage: this.stage, operation });
  }

  recordLag(topic: string, partition: number, lag: number): void {
    this.lagByPartition.set(`${topic}#${partition}`, lag);
  }

  lag(): number {
    let total = 0;
    for (const value of this.lagByPartition.values()) total += value;
    return total;
  }

  snapshot(): PipelineCounts & { lag: number } {
    return { ...this.totals, lag: this.lag() };
  }

  private attrs(topic: string): Attributes {
    return { stage: this.stage, topic };
  }
}
