/**
 * Writes the pack's sample event files (`tests/**\/*.jsonl`) from `cases.ts`:
 * `node packages/rules-core-pack/src/samples/generate.ts`. Deterministic: the same bytes every run.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { ExampleEvent } from "../examples.ts";
import { sampleFiles } from "./cases.ts";

export const PACK_ROOT = resolve(import.meta.dirname, "../..");

/** One JSON line per event: `{"kind", "key", "value"}`, the form the pack harness reads. */
export function renderSample(events: readonly ExampleEvent[]): string {
  return events
    .map((event) => `${JSON.stringify({ kind: event.kind, key: event.key, value: event.value })}\n`)
    .join("");
}

export function writeSamples(root = PACK_ROOT): string[] {
  const written: string[] = [];
  for (const [file, make] of Object.entries(sampleFiles)) {
    const path = join(root, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, renderSample(make()));
    written.push(file);
  }
  return written;
}

if (import.meta.main) {
  for (const file of writeSamples()) process.stdout.write(`wrote ${file}\n`);
}
