import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@vigil/observability";
import { AdvisoryV1 } from "@vigil/schema";
import { afterAll, describe, expect, it } from "vitest";
import { cli, FormatError, InputError, runIngestAdvisories } from "./index.ts";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const examples = fileURLToPath(new URL("../../../examples/advisories", import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), "ingest-advisories-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function runMain(args: string[], input?: string) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("KAFKA_") && !key.startsWith("VIGIL_")),
  );
  return spawnSync(process.execPath, [main, ...args], {
    env: { ...clean, LOG_LEVEL: "warn" },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    ...(input !== undefined ? { input } : {}),
  });
}

class Collector extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

const config = (argv: string[]) => cli.parse(argv, {}).values;

describe("vigil-ingest-advisories process", () => {
  it("--dry-run --dir prints one valid advisory per entry of the examples and needs no Kafka", () => {
    const result = runMain(["--dry-run", "--dir", examples, "--json"]);
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split("\n");
    const summary = JSON.parse(lines.pop()!) as {
      summary: { read: number; published: number; files: number };
    };
    expect(summary.summary).toMatchObject({ read: 13, published: 13, deadLettered: 0, files: 5 });
    const advisories = lines.map((line) => AdvisoryV1.parse(JSON.parse(line)));
    expect(
      advisories
        .filter((advisory) => advisory.id === "CVE-2021-44228")
        .map((a) => a.source)
        .sort(),
    ).toEqual(["cisa-kev", "cisa-kev", "nvd"]);
    expect(advisories.find((advisory) => advisory.id === "msrc_CVE-2020-1472")?.fixing_kb_ids).toContain(
      "KB4571694",
    );
  });

  it("reads stdin with --format auto", () => {
    const result = runMain(["--dry-run"], readFileSync(join(examples, "nvd-page.json"), "utf8"));
    expect(result.status).toBe(0);
    expect(
      result.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line).id),
    ).toEqual(["CVE-2021-44228", "CVE-2017-0144", "CVE-2020-1472"]);
  });

  it("exits 2 naming the expected format and what was found for a file in the wrong format", () => {
    const result = runMain(["--dry-run", "--format", "kev-json", "--file", join(examples, "nvd-page.json")]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      "expected a CISA KEV JSON catalog (an object with catalogVersion and a vulnerabilities array); found a JSON object with keys resultsPerPage",
    );
    expect(result.stdout).toBe("");
  });

  it("exits 2 for a missing file and a bad --format, before any Kafka is needed", () => {
    expect(runMain(["--file", join(workDir, "nope.json")]).stderr).toContain("ENOENT");
    const bad = runMain(["--dry-run", "--format", "cvrf"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("format");
  });

  it("--next-release prints the next and previous release, as JSON with --json", () => {
    const result = runMain(["--next-release", "--json", "--at", "2027-03-01T00:00:00Z"]);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      next: { date: "2027-03-09", zone: "PST", start: "2027-03-09T18:00:00.000Z" },
      previous: { date: "2027-02-09" },
    });
    const text = runMain(["--next-release", "--at", "2026-03-01T00:00:00Z"]);
    expect(text.stdout).toContain("next Microsoft release: 2026-03-10 10:00-11:00 PDT");
  });

  it("--help lists the formats and --next-release", () => {
    const result = runMain(["--help"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("kev-json, kev-csv, nvd-json, csaf");
    expect(result.stdout).toContain("--next-release");
  });
});

describe("runIngestAdvisories", () => {
  it("dead-letters a bad KEV entry with its path and goes on with the rest", async () => {
    const catalog = JSON.parse(readFileSync(join(examples, "kev.json"), "utf8"));
    catalog.vulnerabilities[1].dueDate = "next week";
    const file = join(workDir, "kev-bad.json");
    writeFileSync(file, JSON.stringify(catalog));
    const out = new Collector();
    const errOut = new Collector();
    const summary = await runIngestAdvisories({
      logger: silentLogger(),
      config: { ...config(["--file", file, "--dry-run"]), topicPrefix: "" },
      out,
      errOut,
    });
    expect(summary).toMatchObject({
      read: 4,
      published: 3,
      deadLettered: 1,
      deadLetteredByKind: { schema: 1 },
    });
    expect(JSON.parse(errOut.text).dead_letter).toMatchObject({
      location: `${file}#vulnerabilities[1]`,
      kind: "schema",
      reason: expect.stringContaining("vulnerabilities[1].dueDate"),
    });
  });

  it("in a directory, a stray file is a dead letter (kind format), not the end of the run", async () => {
    const dir = mkdtempSync(join(workDir, "dir-"));
    writeFileSync(join(dir, "a.json"), readFileSync(join(examples, "csaf/msrc_cve-2017-0144.json")));
    writeFileSync(join(dir, "b.json"), '{"hello": 1}');
    writeFileSync(join(dir, "notes.txt"), "not read");
    const errOut = new Collector();
    const summary = await runIngestAdvisories({
      logger: silentLogger(),
      config: { ...config(["--dir", dir, "--format", "csaf", "--dry-run"]), topicPrefix: "" },
      out: new Collector(),
      errOut,
    });
    expect(summary).toMatchObject({ files: 2, read: 2, published: 1, deadLetteredByKind: { format: 1 } });
    expect(errOut.text).toContain("found a JSON object with keys hello");
  });

  it("throws FormatError for a wrong single file and InputError for --file with --dir", async () => {
    await expect(
      runIngestAdvisories({
        logger: silentLogger(),
        config: { ...config(["--dry-run", "--format", "csaf"]), topicPrefix: "" },
        stdin: Readable.from(["cveID,vendorProject\n"]),
        out: new Collector(),
      }),
    ).rejects.toBeInstanceOf(FormatError);
    await expect(
      runIngestAdvisories({
        logger: silentLogger(),
        config: { ...config(["--dry-run", "--file", "x", "--dir", workDir]), topicPrefix: "" },
        out: new Collector(),
      }),
    ).rejects.toBeInstanceOf(InputError);
  });
});
