/**
 * Rough throughput of the Suricata EVE parser, and of a dry-run ingest over a generated file.
 * Run: `pnpm --filter @vigil/parsers bench` (or `node bench/suricata.bench.ts [lines]`).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseSuricataEve } from "../src/index.ts";

const total = Number(process.argv[2] ?? 200_000);

function alert(index: number): string {
  return JSON.stringify({
    timestamp: `2024-03-12T09:${String(index % 60).padStart(2, "0")}:03.118412+0100`,
    flow_id: 1_207_034_862_018_200 + index,
    in_iface: "ens224",
    event_type: "alert",
    src_ip: "203.0.113.45",
    src_port: 40_000 + (index % 20_000),
    dest_ip: `10.20.${index % 8}.${index % 250}`,
    dest_port: 443,
    proto: "TCP",
    app_proto: "http",
    community_id: "1:K1jboCNaerOPP+L8REDamZ0TR3o=",
    host: "sensor-dmz-1",
    alert: {
      action: "allowed",
      gid: 1,
      signature_id: 2_034_647,
      rev: 2,
      signature: "ET EXPLOIT Apache log4j RCE Attempt (http ldap) (CVE-2021-44228)",
      category: "Attempted Administrator Privilege Gain",
      severity: 1,
      metadata: {
        attack_target: ["Server"],
        created_at: ["2021_12_10"],
        cve: ["CVE_2021_44228"],
        deployment: ["Perimeter", "Internal"],
        signature_severity: ["Major"],
        updated_at: ["2021_12_14"],
      },
    },
    http: { hostname: "www.corp.example", url: "/api/login?user=x", http_method: "GET" },
    payload_printable: "GET /api/login?user=x HTTP/1.1\r\nHost: www.corp.example\r\n\r\n",
    flow: { pkts_toserver: 4, pkts_toclient: 3, bytes_toserver: 512, bytes_toclient: 380 },
  });
}

const flow = (index: number) =>
  JSON.stringify({
    timestamp: "2024-03-12T09:10:03.118412+0100",
    flow_id: index,
    event_type: "flow",
    src_ip: "10.20.41.23",
  });

// 3 alerts : 1 other event, roughly what an alert-heavy EVE file holds.
const lines = Array.from({ length: total }, (_, index) => (index % 4 === 3 ? flow(index) : alert(index)));
const bytes = lines.map((line) => Buffer.from(line));

for (let index = 0; index < 5_000; index++) parseSuricataEve(bytes[index % bytes.length]!);
let alerts = 0;
const started = process.hrtime.bigint();
for (const line of bytes) if (parseSuricataEve(line).status === "alert") alerts += 1;
const parseSeconds = Number(process.hrtime.bigint() - started) / 1e9;
const parseRate = Math.round(total / parseSeconds);
console.log(
  `parser: ${total} lines (${alerts} alerts) in ${parseSeconds.toFixed(2)} s = ${parseRate} lines/s`,
);

const dir = mkdtempSync(join(tmpdir(), "suricata-bench-"));
try {
  const file = join(dir, "eve.json");
  writeFileSync(file, `${lines.join("\n")}\n`);
  const main = fileURLToPath(new URL("../../../apps/ingest-ids/src/main.ts", import.meta.url));
  const runStarted = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [main, "--dry-run", "--file", file, "--json"], {
    env: { ...process.env, LOG_LEVEL: "warn" },
    maxBuffer: 2 * 1024 * 1024 * 1024,
    encoding: "utf8",
  });
  const runSeconds = Number(process.hrtime.bigint() - runStarted) / 1e9;
  if (result.status !== 0) throw new Error(`dry run failed (${result.status}): ${result.stderr}`);
  const summary = result.stdout.trim().split("\n").at(-1);
  console.log(
    `dry-run ingest (process start included, stdout to a pipe): ${total} lines in ${runSeconds.toFixed(2)} s = ${Math.round(total / runSeconds)} lines/s; ${summary}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
