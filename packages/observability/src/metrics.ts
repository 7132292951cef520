import { type Attributes, metrics } from "@opentelemetry/api";

export interface PipelineCounts {
  in: number;
  out: number;
  deadLettered: number;
  retries: number;
}

/**
 * The counters every stage keeps: records in, out, dead-lettered (per topic), lag, processing
 * time, table sizes, and whether the stage is held back (backpressure, for `/readyz`).
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
  /** Reasons the stage is held back now, with how many holders each has. */
  private readonly holds = new Map<string, number>();
  private readonly pressureProbes: Array<() => string | undefined> = [];

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
    this.meter
      .createObservableGauge("vigil.backpressure", {
        description: "1 while the stage is held back (a send being retried, a full input queue), else 0",
      })
      .addCallback((result) =>
        result.observe(this.backpressure() === undefined ? 0 : 1, { stage: this.stage }),
      );
  }

  /**
   * Marks the stage held back for `reason` (e.g. a send being retried: the broker is not taking
   * its output) until the returned release is called; release is idempotent. `/readyz` says
   * not ready meanwhile.
   */
  holdBack(reason: string): () => void {
    this.holds.set(reason, (this.holds.get(reason) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.holds.get(reason) ?? 1) - 1;
      if (left > 0) this.holds.set(reason, left);
      else this.holds.delete(reason);
    };
  }

  /** Adds a condition read at each readiness check (e.g. a syslog listener whose queue is full). */
  watchBackpressure(probe: () => string | undefined): void {
    this.pressureProbes.push(probe);
  }

  /** Why the stage is held back now, or undefined when it is not. */
  backpressure(): string | undefined {
    const [held] = this.holds.keys();
    if (held !== undefined) return held;
    for (const probe of this.pressureProbes) {
      const reason = probe();
      if (reason !== undefined) return reason;
    }
    return undefined;
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
