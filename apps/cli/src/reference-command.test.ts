import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { ReferenceDocumentV1 } from "@vigil/schema";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { referenceCommand } from "./reference-command.ts";

const examples = path.resolve(import.meta.dirname, "../../../examples");

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const text = { out: "", err: "" };
  stdout.on("data", (chunk: Buffer) => {
    text.out += chunk.toString();
  });
  stderr.on("data", (chunk: Buffer) => {
    text.err += chunk.toString();
  });
  return { io: { stdout, stderr, now: () => new Date("2024-03-12T06:00:00Z"), env: {} }, text };
}

describe("vigil reference", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "vigil-reference-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("validates and prints the documents it would publish (--dry-run)", async () => {
    const { io: streams, text } = io();
    const code = await referenceCommand(
      [
        "publish",
        "--kind",
        "baselines",
        "--dry-run",
        path.join(examples, "baselines/windows.yaml"),
        path.join(examples, "baselines/linux.yaml"),
      ],
      streams,
    );
    expect(code, text.err).toBe(0);
    const documents = text.out
      .trim()
      .split("\n")
      .map((line) => ReferenceDocumentV1.parse(JSON.parse(line)));
    expect(documents.map((d) => [d.kind, d.name])).toEqual([
      ["baselines", "windows"],
      ["baselines", "linux"],
    ]);
    expect(documents[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses a document of the wrong kind, naming the file, line and key (exit 2, nothing published)", async () => {
    const { io: streams, text } = io();
    const code = await referenceCommand(
      ["publish", "--kind", "baselines", path.join(examples, "assets/priority-list.yaml")],
      streams,
    );
    expect(code).toBe(2);
    expect(text.err).toMatch(/priority-list\.yaml:\d+:\d+: baselines: expected a list of baselines/);
    expect(text.out).toBe("");
  });

  it("refuses truncated and hostile YAML with a positioned error", async () => {
    const truncated = path.join(dir, "cut.yaml");
    await writeFile(truncated, "version: 1\nexceptions:\n  - id: x\n    asset: [unclosed\n");
    const hostile = path.join(dir, "hostile.yaml");
    await writeFile(hostile, "version: 1\n__proto__: { polluted: true }\nexceptions: []\n");
    for (const file of [truncated, hostile]) {
      const { io: streams, text } = io();
      expect(await referenceCommand(["publish", "--kind", "exceptions", file], streams)).toBe(2);
      expect(text.err).toContain(file);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("names what is missing: the kind, the files, the action, the brokers", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["publish", path.join(examples, "baselines/windows.yaml")], /--kind: expected/],
      [["publish", "--kind", "baselines"], /name at least one file/],
      [["upload"], /unknown action 'upload'/],
      [["publish", "--kind", "nonsense", "x.yaml"], /--kind/],
      [["publish", "--kind", "baselines", path.join(dir, "missing.yaml")], /cannot read/],
    ];
    for (const [argv, message] of cases) {
      const { io: streams, text } = io();
      expect(await referenceCommand(argv, streams), argv.join(" ")).toBe(2);
      expect(text.err).toMatch(message);
    }
    // Without --brokers or KAFKA_BROKERS (the test's environment is empty) it says how to give them.
    const { io: streams, text } = io();
    const noBrokers = await referenceCommand(
      ["publish", "--kind", "baselines", path.join(examples, "baselines/windows.yaml")],
      streams,
    );
    expect(noBrokers).toBe(2);
    expect(text.err).toMatch(/no Kafka brokers/);
  });
});
