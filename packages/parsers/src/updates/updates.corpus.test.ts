import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { createUpdateLogParser, detectUpdateLogFormat, splitUpdateLogRecords } from "./index.ts";

const shared = path.resolve(import.meta.dirname, "../../../../../shared");
const loghub = path.join(shared, "corpora/loghub/Windows");
const seeds = path.join(shared, "seeds");

function need(dir: string): void {
  if (!existsSync(dir))
    throw new Error(`${dir} is missing: the real-data tests need ../shared/ next to the repo`);
}

describe("loghub's 2,000 real CBS lines against its parsed CSV", () => {
  it("parses every line, and date, time, level, component and content match the CSV row", () => {
    need(loghub);
    const raw = readFileSync(path.join(loghub, "Windows_2k.log"), "utf8");
    const rows = parseCsv(readFileSync(path.join(loghub, "Windows_2k.log_structured.csv")), {
      columns: true,
    }) as Record<string, string>[];
    expect(rows).toHaveLength(2000);
    expect(Object.keys(rows[0]!)).toEqual([
      "LineId",
      "Date",
      "Time",
      "Level",
      "Component",
      "Content",
      "EventId",
      "EventTemplate",
    ]);
    expect(detectUpdateLogFormat(raw.split("\n").slice(0, 20)).format).toBe("cbs");

    const parse = createUpdateLogParser("cbs", { file: "Windows_2k.log" });
    const records = splitUpdateLogRecords(raw, "cbs");
    // Every line of this sample starts an entry: one record per CSV row.
    expect(records).toHaveLength(rows.length);
    let matched = 0;
    const ids = new Set<string>();
    for (const [index, record] of records.entries()) {
      const row = rows[index]!;
      const result = parse(record.text, record.position);
      if (result.status !== "record") throw new Error(`line ${index + 1}: ${JSON.stringify(result)}`);
      const event = result.value;
      expect(event.source_location?.line).toBe(Number(row.LineId));
      expect(event.logged_time).toBe(`${row.Date} ${row.Time}`);
      expect(event.level).toBe(row.Level);
      expect(event.component).toBe(row.Component);
      expect(event.message).toBe(row.Content);
      ids.add(event.id);
      matched += 1;
    }
    expect(matched).toBe(2000);
    // Many lines repeat within a second: ids stay distinct anyway.
    expect(ids.size).toBe(2000);
  });
});

describe("the seeds' excerpts are the fixtures", () => {
  function seedText(prefix: string): string {
    need(seeds);
    const file = readdirSync(seeds).find((name) => name.startsWith(prefix));
    if (!file) throw new Error(`no seed ${prefix}_*.txt in ${seeds}`);
    return readFileSync(path.join(seeds, file), "utf8");
  }
  /** The code block's lines, blank lines (page layout) dropped, markdown escapes undone. */
  const lines = (text: string) =>
    text
      .split("\n")
      .map((line) => line.trim().replaceAll("\\_", "_").replaceAll("\\\\", "\\"))
      .filter(Boolean);
  const fixtureLines = (name: string) =>
    lines(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));

  it("954960: client and server excerpts", () => {
    const blocks = [...seedText("003").matchAll(/```\n([\s\S]*?)```/g)].map((match) => lines(match[1]!));
    expect(blocks).toHaveLength(2);
    expect(fixtureLines("seed-954960-client-WindowsUpdate.log")).toEqual(blocks[0]);
    expect(fixtureLines("seed-954960-server-SoftwareDistribution.log")).toEqual(blocks[1]);
  });

  it("954474: the Wsyncmgr.log excerpt", () => {
    const excerpt = /-\s+(Performing legacy sync\n[\s\S]*?)\n\n/.exec(seedText("004"));
    expect(excerpt).not.toBeNull();
    expect(fixtureLines("seed-954474-Wsyncmgr.log")).toEqual(lines(excerpt![1]!));
  });
});
