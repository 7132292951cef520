import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@vigil/observability";
import { topicName, topics, UpdateEventV1 } from "@vigil/schema";
import { createEmbeddedTransport, ensureRegistryTopics, type Transport } from "@vigil/stream";
import { waitFor } from "@vigil/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { cli, hostFromPath, runIngestUpdates } from "./index.ts";

const examples = fileURLToPath(new URL("../../../examples/updates/", import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), "ingest-updates-follow-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const config = (argv: string[]) => cli.parse(argv, {}).values;
const manifest = JSON.parse(readFileSync(join(examples, "manifest.json"), "utf8")) as {
  file: string;
  host: string;
}[];

async function published(transport: Transport, prefix: string) {
  return (await transport.readAll(topicName(topics.updatesAgent, prefix))).map((message) => ({
    key: message.key?.toString(),
    event: UpdateEventV1.parse(JSON.parse(message.value!.toString())),
  }));
}

describe("--dir", () => {
  it("publishes every example log once, keyed by the host its folder names; a rerun publishes nothing", async () => {
    const transport = createEmbeddedTransport();
    const prefix = "unit-updates-dir.";
    await ensureRegistryTopics(transport, prefix);
    const state = join(workDir, "dir-state.json");
    const run = () =>
      runIngestUpdates({
        transport,
        logger: silentLogger(),
        config: { ...config(["--dir", examples, "--once", "--state", state]), topicPrefix: prefix },
      });

    const first = await run();
    expect(first).toMatchObject({ files: manifest.length, filesRefused: 0, deadLettered: 0, aborted: false });
    const events = await published(transport, prefix);
    expect(events).toHaveLength(first.published);
    for (const entry of manifest) {
      const path = join(examples, entry.file);
      const own = events.filter(({ event }) => event.source_location?.file === path);
      expect(own.length, entry.file).toBeGreaterThan(0);
      expect(new Set(own.map(({ key }) => key)), entry.file).toEqual(new Set([entry.host]));
      expect(own.every(({ event }) => event.host === entry.host)).toBe(true);
    }
    expect(new Set(events.map(({ event }) => event.source_location?.file)).size).toBe(manifest.length);
    expect(Object.keys(JSON.parse(readFileSync(state, "utf8")).processed).sort()).toEqual(
      manifest.map((entry) => entry.file).sort(),
    );

    const second = await run();
    expect(second).toMatchObject({ files: 0, read: 0, published: 0 });
    expect(await published(transport, prefix)).toHaveLength(events.length);
    await transport.close();
  });

  it("skips files that are not update logs and counts a .log in another format as refused", async () => {
    const dir = mkdtempSync(join(workDir, "mixed-"));
    const host = join(dir, "cbs01.corp.example");
    const other = join(dir, "misc");
    for (const folder of [host, other]) rmSync(folder, { recursive: true, force: true });
    await import("node:fs/promises").then(({ mkdir }) =>
      Promise.all([mkdir(host, { recursive: true }), mkdir(other, { recursive: true })]),
    );
    writeFileSync(
      join(host, "CBS.log"),
      "2016-09-28 04:30:31, Info                  CBS    Session: 30546173_4261722401 initialized by client WindowsUpdateAgent.\r\n",
    );
    writeFileSync(join(other, "notes.txt"), "not a log\n");
    writeFileSync(join(other, "app.log"), '{"json": "lines"}\n{"json": "more"}\n');
    const transport = createEmbeddedTransport();
    await ensureRegistryTopics(transport, "");
    const summary = await runIngestUpdates({
      transport,
      logger: silentLogger(),
      config: config(["--dir", dir, "--once"]),
    });
    expect(summary).toMatchObject({ files: 1, filesRefused: 1, published: 1 });
    const [event] = await published(transport, "");
    expect(event).toMatchObject({ key: "cbs01.corp.example", event: { host: "cbs01.corp.example" } });
    expect(
      Object.keys(JSON.parse(readFileSync(join(dir, ".vigil-ingest-updates.json"), "utf8")).processed),
    ).toEqual(["cbs01.corp.example/CBS.log", "misc/app.log"]);
    await transport.close();
  });

  it("takes the host from a dotted folder name only", () => {
    expect(hostFromPath("clients/WS-0101.corp.example/WindowsUpdate.log")).toBe("ws-0101.corp.example");
    expect(hostFromPath("10.20.40.5/CBS.log")).toBe("10.20.40.5");
    expect(hostFromPath("clients/WindowsUpdate.log")).toBeUndefined();
    expect(hostFromPath("WindowsUpdate.log")).toBeUndefined();
  });
});

const STACK = [
  "   at System.Collections.Hashtable.Insert(Object key, Object nvalue, Boolean add)",
  "   at Microsoft.UpdateServices.Internal.ClientImplementation.SyncUpdates(Cookie cookie, SyncUpdateParameters parameters)",
];

/** A WSUS entry; every other one is a three-line stack trace, so grouping is exercised across writes. */
function entry(n: number): string[] {
  const second = String(n).padStart(2, "0");
  if (n % 2 === 0)
    return [
      `2008-07-01 00:15:${second}.175 UTC\tError\tw3wp.12\tClientImplementation.SyncUpdates\tSystem.ArgumentException: entry ${n}`,
      ...STACK,
    ];
  return [`2008-07-01 00:15:${second}.500 UTC\tInfo\tw3wp.5\tClient.GetCookie\tentry ${n}`];
}
const text = (numbers: number[]) => numbers.map((n) => `${entry(n).join("\r\n")}\r\n`).join("");

describe("--follow --checkpoint", () => {
  it("follows appends and a rotation, checkpoints whole acknowledged entries, and resumes without loss or repeats", async () => {
    const dir = mkdtempSync(join(workDir, "tail-"));
    const log = join(dir, "SoftwareDistribution.log");
    const checkpoint = join(dir, "wsus.ckpt");
    const transport = createEmbeddedTransport();
    const prefix = "unit-updates-follow.";
    await ensureRegistryTopics(transport, prefix);
    const start = () => {
      const controller = new AbortController();
      const done = runIngestUpdates({
        transport,
        logger: silentLogger(),
        config: {
          ...config(["--file", log, "--follow", "--checkpoint", checkpoint, "--host", "wsus01.corp.example"]),
          topicPrefix: prefix,
        },
        signal: controller.signal,
      });
      return { stop: () => controller.abort(), done };
    };
    const count = async (n: number) =>
      waitFor(async () => ((await published(transport, prefix)).length >= n ? true : undefined), {
        message: `${n} events published`,
        timeoutMs: 20_000,
      });
    const savedPosition = () =>
      (
        JSON.parse(readFileSync(checkpoint, "utf8")) as {
          position: { offset: number; line: number; ino: string };
        }
      ).position;

    writeFileSync(log, text([1, 2, 3]));
    const first = start();
    await count(3);
    appendFileSync(log, text([4]));
    await count(4);
    // Entry 4 is lines 6-8: the checkpoint stands after its last physical line, not its first.
    await waitFor(() => (savedPosition().line === 8 ? true : undefined), { message: "checkpoint at line 8" });
    expect(savedPosition().offset).toBe(statSync(log).size);

    renameSync(log, `${log}.1`);
    writeFileSync(log, text([5, 6]));
    await count(6);
    first.stop();
    const firstSummary = await first.done;
    expect(firstSummary).toMatchObject({ format: "wsus", deadLettered: 0, aborted: true });
    expect(savedPosition()).toMatchObject({ ino: String(statSync(log).ino), offset: statSync(log).size });

    // Written while stopped: read from the checkpoint on restart.
    appendFileSync(log, text([7, 8]));
    const second = start();
    await count(8);
    second.stop();
    await second.done;

    const events = await published(transport, prefix);
    expect(events.map(({ event }) => /entry (\d+)/.exec(event.raw_data)?.[1])).toEqual([
      "1",
      "2",
      "3",
      "4",
      "5",
      "6",
      "7",
      "8",
    ]);
    expect(events.every(({ key }) => key === "wsus01.corp.example")).toBe(true);
    const traces = events.filter(({ event }) => event.raw_data.includes("System.ArgumentException"));
    expect(traces.map(({ event }) => event.raw_data.split("\n").length)).toEqual([3, 3, 3, 3]);
    expect(
      events.find(({ event }) => event.raw_data.includes("entry 8"))!.event.source_location,
    ).toMatchObject({
      file: log,
      line: 6,
      last_line: 8,
    });
    await transport.close();
  }, 60_000);

  it("refuses --follow on stdin and a checkpoint of another file", async () => {
    await expect(
      runIngestUpdates({ logger: silentLogger(), config: config(["--dry-run", "--follow"]) }),
    ).rejects.toThrow("--follow and --checkpoint need --file PATH");
    const dir = mkdtempSync(join(workDir, "ckpt-"));
    const log = join(dir, "CBS.log");
    writeFileSync(log, "2016-09-28 04:30:31, Info                  CBS    Session: 1 initialized.\r\n");
    const checkpoint = join(dir, "cbs.ckpt");
    writeFileSync(
      checkpoint,
      JSON.stringify({
        version: 1,
        source: "/elsewhere.log",
        position: { dev: "1", ino: "2", offset: 0, line: 0 },
        updated: "2024-01-01T00:00:00Z",
      }),
    );
    await expect(
      runIngestUpdates({
        logger: silentLogger(),
        config: config(["--dry-run", "--file", log, "--checkpoint", checkpoint]),
        out: process.stdout,
      }),
    ).rejects.toThrow("belongs to /elsewhere.log");
  });
});
