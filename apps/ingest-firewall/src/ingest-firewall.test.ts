import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { FirewallEventV1 } from "@vigil/schema";
import { describe, expect, it } from "vitest";
import { cli } from "./index.ts";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const examples = fileURLToPath(new URL("../../../examples/firewall/", import.meta.url));
const run = (args: string[], input?: string) =>
  spawnSync(process.execPath, [main, ...args], {
    input,
    encoding: "utf8",
    env: { ...process.env, LOG_LEVEL: "silent" },
  });

// Each case starts Node processes: seconds apiece on a busy 2-core machine.
describe("vigil-ingest-firewall", { timeout: 30_000 }, () => {
  it("parses listener addresses and limits from flags", () => {
    const { values } = cli.parse(
      [
        "--listen-udp",
        "0.0.0.0:514",
        "--listen-tcp",
        "[::1]:601",
        "--idle-timeout",
        "2m",
        "--max-line-bytes",
        "8k",
      ],
      {},
    );
    expect(values).toMatchObject({
      listenUdp: { host: "0.0.0.0", port: 514 },
      listenTcp: { host: "::1", port: 601 },
      idleTimeout: 120_000,
      maxLineBytes: 8192,
    });
  });

  it("prints normalized events on a dry run of the examples, dead letters on stderr", () => {
    const result = run([
      "--dry-run",
      "--json",
      "--file",
      `${examples}asa.log`,
      "--home-net",
      "10.20.0.0/16,172.16.10.0/24",
    ]);
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split("\n");
    const summary = JSON.parse(lines.pop()!).summary;
    expect(summary).toMatchObject({ read: 48, published: 47, ignored: 1, deadLettered: 0 });
    const events = lines.map((line) => FirewallEventV1.parse(JSON.parse(line)));
    expect(
      events.filter((event) => event.asset_ip === "172.16.10.5" && event.action === "Denied").length,
    ).toBeGreaterThan(10);
  });

  it("dead-letters bad stdin lines with their reason and goes on", () => {
    const result = run(
      ["--dry-run"],
      "garbage\n%ASA-3-710003: TCP access denied by ACL from 10.20.9.77/49720 to inside:10.20.1.10/22\n",
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('"asset_ip":"10.20.1.10"');
    expect(result.stderr).toContain('"kind":"unrecognized"');
  });

  it("refuses bad configuration with exit 2 naming the flag", () => {
    const result = run(["--dry-run", "--listen-udp", "nope"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("listen-udp");
    expect(run(["--dry-run", "--listen-tcp", "127.0.0.1:0", "--tls-cert", "/nonexistent"]).status).toBe(2);
  });
});
