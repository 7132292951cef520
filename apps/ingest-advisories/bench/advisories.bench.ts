/**
 * Throughput of the advisory parsers on the real corpora (records/s per format).
 * Run: `pnpm --filter @vigil/ingest-advisories bench` (or `node bench/advisories.bench.ts [rounds]`). Needs ../shared/corpora.
 * The last line is the whole app on the KEV catalog (`--dry-run`, output to /dev/null), process start included.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseCsaf, parseKevCsv, parseKevJson, parseNvdPage } from "@vigil/parsers";

const rounds = Number(process.argv[2] ?? 20);
const corpora = resolve(import.meta.dirname, "../../..", "../shared/corpora");
const kevJson = readFileSync(join(corpora, "cisa-kev/known_exploited_vulnerabilities.json"));
const kevCsv = readFileSync(join(corpora, "cisa-kev/known_exploited_vulnerabilities.csv"));
const nvd = readFileSync(
  join(corpora, "anchore-vunnel/tests/unit/providers/nvd/test-fixtures/full-page.json"),
);
const csafDir = join(corpora, "oasis-csaf/csaf_2.0/test/validator/data/mandatory");
const csafFiles = readdirSync(csafDir).map((name) => readFileSync(join(csafDir, name)));
const examples = join(corpora, "oasis-csaf/csaf_2.0/examples/csaf");
const csafExamples = readdirSync(examples)
  .filter((name) => name.endsWith(".json"))
  .map((name) => readFileSync(join(examples, name)));

function measure(name: string, run: () => number, bytesPerRound: number): void {
  run(); // warm-up
  const started = process.hrtime.bigint();
  let records = 0;
  for (let round = 0; round < rounds; round++) records += run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const perSecond = Math.round(records / seconds);
  const mbPerSecond = ((bytesPerRound * rounds) / seconds / 1e6).toFixed(1);
  console.log(`${name.padEnd(34)} ${String(perSecond).padStart(8)} records/s  ${mbPerSecond} MB/s`);
}

const count = (result: ReturnType<typeof parseKevJson>) =>
  result.status === "document" ? result.entries.length : 0;
measure("kev-json (1,404 entries)", () => count(parseKevJson(kevJson)), kevJson.length);
measure("kev-csv (1,404 rows)", () => count(parseKevCsv(kevCsv)), kevCsv.length);
measure("nvd-json (38 CVEs)", () => count(parseNvdPage(nvd)), nvd.length);
measure(
  "csaf test cases (147 documents)",
  () => csafFiles.reduce((sum, file) => sum + count(parseCsaf(file)), 0),
  csafFiles.reduce((sum, file) => sum + file.length, 0),
);
measure(
  "csaf real advisories (6 documents)",
  () => csafExamples.reduce((sum, file) => sum + count(parseCsaf(file)), 0),
  csafExamples.reduce((sum, file) => sum + file.length, 0),
);

const started = process.hrtime.bigint();
const run = spawnSync(
  process.execPath,
  [
    join(import.meta.dirname, "../src/main.ts"),
    "--dry-run",
    "--json",
    "--file",
    join(corpora, "cisa-kev/known_exploited_vulnerabilities.json"),
  ],
  { encoding: "utf8", env: { ...process.env, LOG_LEVEL: "warn" }, maxBuffer: 256 * 1024 * 1024 },
);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(
  `${"app --dry-run, KEV catalog".padEnd(34)} ${String(Math.round(1404 / seconds)).padStart(8)} records/s  (${seconds.toFixed(2)} s, exit ${run.status})`,
);
