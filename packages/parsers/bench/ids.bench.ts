/**
 * Lines per second, on one core, of each IDS parser (Suricata EVE alert / context, Snort 3
 * alert_json, Zeek notice.log JSON and TSV) over the example lines of `examples/ids` and
 * `examples/suricata`, repeated. Run: `pnpm --filter @vigil/parsers bench:ids [lines]`.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  parseSnortAlertJson,
  parseSuricataEve,
  parseZeekNoticeJson,
  ZeekNoticeParser,
} from "../src/index.ts";

const total = Number(process.argv[2] ?? 100_000);
const examples = fileURLToPath(new URL("../../../examples/", import.meta.url));
const read = (name: string) =>
  readFileSync(`${examples}${name}`, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "");

const eve = read("suricata/eve.json");
const zeekTsv = read("ids/zeek-notice.log");
const zeekRows = zeekTsv.filter((line) => !line.startsWith("#"));
const zeekHeader = zeekTsv.filter((line) => line.startsWith("#") && !line.startsWith("#close"));

function measure(name: string, samples: string[], parse: (line: Buffer) => { status: string }): void {
  const bytes = Array.from({ length: total }, (_, index) => Buffer.from(samples[index % samples.length]!));
  for (let index = 0; index < 5_000; index++) parse(bytes[index % bytes.length]!);
  const counts: Record<string, number> = {};
  const started = process.hrtime.bigint();
  for (const line of bytes) {
    const status = parse(line).status;
    counts[status] = (counts[status] ?? 0) + 1;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    `${name.padEnd(28)} ${String(Math.round(total / seconds)).padStart(8)} lines/s  (${total} lines, ${JSON.stringify(counts)})`,
  );
}

measure(
  "suricata eve (alerts)",
  eve.filter((line) => line.includes('"event_type":"alert"')),
  (line) => parseSuricataEve(line),
);
measure("suricata eve (whole file)", eve, (line) => parseSuricataEve(line));
measure("snort alert_json", read("ids/snort-alert_json.txt"), (line) => parseSnortAlertJson(line));
measure("zeek notice json", read("ids/zeek-notice.json"), (line) => parseZeekNoticeJson(line));
const zeek = new ZeekNoticeParser();
for (const line of zeekHeader) zeek.parse(line);
measure("zeek notice tsv", zeekRows, (line) => zeek.parse(line));
