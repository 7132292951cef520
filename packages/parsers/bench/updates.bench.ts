/**
 * Throughput of the update-log parsers (grouping + parsing, lines/s per format) on the demo logs
 * repeated to a size, and of a dry-run `vigil-ingest-updates` over the WindowsUpdate.log one.
 * Run: `pnpm --filter @vigil/parsers bench:updates` (or `node bench/updates.bench.ts [lines]`).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createUpdateLogParser, splitUpdateLogRecords, type UpdateLogFormat } from "../src/index.ts";

const target = Number(process.argv[2] ?? 200_000);
const examples = fileURLToPath(new URL("../../../examples/updates/", import.meta.url));
const inputs: Record<UpdateLogFormat, string> = {
  windowsupdate: "clients/ws-0101.corp.example/WindowsUpdate.log",
  wsus: "wsus01.corp.example/SoftwareDistribution.log",
  wsyncmgr: "sccm01.corp.example/Wsyncmgr.log",
  cbs: "clients/ws-0120.corp.example/CBS.log",
};

function repeated(path: string): { text: string; lines: number } {
  const one = readFileSync(join(examples, path), "utf8").replace(/\r\n$/, "");
  const perCopy = one.split("\n").length;
  const copies = Math.max(1, Math.ceil(target / perCopy));
  return { text: Array.from({ length: copies }, () => one).join("\r\n"), lines: copies * perCopy };
}

const results: string[] = [];
for (const [format, path] of Object.entries(inputs) as [UpdateLogFormat, string][]) {
  const { text, lines } = repeated(path);
  // Warm up on a slice so the measured run is the optimized code.
  const warm = createUpdateLogParser(format);
  for (const record of splitUpdateLogRecords(text.slice(0, 200_000), format))
    warm(record.text, record.position);

  const parse = createUpdateLogParser(format);
  const started = process.hrtime.bigint();
  let records = 0;
  let invalid = 0;
  for (const record of splitUpdateLogRecords(text, format)) {
    records += 1;
    if (parse(record.text, record.position).status !== "record") invalid += 1;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const line = `${format.padEnd(13)} ${lines} lines (${records} entries, ${invalid} invalid) in ${seconds.toFixed(2)} s = ${Math.round(lines / seconds)} lines/s`;
  results.push(line);
  console.log(line);
}

const dir = mkdtempSync(join(tmpdir(), "updates-bench-"));
try {
  const file = join(dir, "WindowsUpdate.log");
  const { text, lines } = repeated(inputs.windowsupdate);
  writeFileSync(file, text);
  const main = fileURLToPath(new URL("../../../apps/ingest-updates/src/main.ts", import.meta.url));
  const started = process.hrtime.bigint();
  const result = spawnSync(
    process.execPath,
    [main, "--dry-run", "--json", "--host", "ws-0101.corp.example", "--file", file],
    { env: { ...process.env, LOG_LEVEL: "warn" }, maxBuffer: 1024 * 1024 * 1024 },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`ingest-updates failed: ${result.stderr.toString()}`);
  console.log(
    `ingest-updates --dry-run (windowsupdate): ${lines} lines in ${seconds.toFixed(2)} s = ${Math.round(lines / seconds)} lines/s (process start and JSON output included)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
