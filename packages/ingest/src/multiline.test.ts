import { PassThrough, Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readLines } from "./lines.ts";
import { groupLines, type RecordLines } from "./multiline.ts";

/** A line starting with a space or `at ` continues the record (a stack trace). */
const indented = (line: Buffer) => line[0] === 0x20 || line.subarray(0, 3).toString() === "at ";

async function group(text: string, options: Partial<Parameters<typeof groupLines>[1]> = {}) {
  const records: RecordLines[] = [];
  const lines = readLines(Readable.from([Buffer.from(text)]), { maxLineBytes: 64 });
  for await (const record of groupLines(lines, { continues: indented, maxRecordBytes: 1024, ...options }))
    records.push(record);
  return records;
}

describe("groupLines", () => {
  it("joins continuation lines into one record numbered by its first line", async () => {
    const records = await group("E1 boom\nat a()\n\n at b()\nE2 fine\nE3 again\n at c()");
    expect(records.map((record) => record.bytes.toString())).toEqual([
      "E1 boom\nat a()\n at b()",
      "E2 fine",
      "E3 again\n at c()",
    ]);
    expect(records.map((record) => [record.lineNumber, record.lastLineNumber, record.lineCount])).toEqual([
      [1, 4, 3],
      [5, 5, 1],
      [6, 7, 2],
    ]);
    // The reader's own last line travels along: a tail's position there is what a checkpoint saves.
    expect(records.map((record) => [record.last.lineNumber, record.last.bytes.toString()])).toEqual([
      [4, " at b()"],
      [5, "E2 fine"],
      [7, " at c()"],
    ]);
    expect(records.every((record) => !record.oversized)).toBe(true);
  });

  it("passes the first and previous line to the predicate", async () => {
    const seen: string[] = [];
    await group("A\n b\n c\nD", {
      continues: (line, record) => {
        seen.push(`${record.first.toString()}|${record.previous.toString()}|${record.lineCount}|${line}`);
        return line[0] === 0x20;
      },
    });
    expect(seen).toEqual(["A|A|1| b", "A| b|2| c", "A| c|3|D"]);
  });

  it("a leading continuation line is a record of its own (the parser refuses it)", async () => {
    const records = await group(" orphan\nE1 x");
    expect(records.map((record) => record.bytes.toString())).toEqual([" orphan", "E1 x"]);
  });

  it("marks a record that outgrows maxRecordBytes as oversized, keeping its first bytes and full length", async () => {
    const text = `E1 start\n${Array.from({ length: 20 }, (_, index) => ` at frame${index}()`).join("\n")}\nE2 next`;
    const records = await group(text, { maxRecordBytes: 50 });
    expect(records).toHaveLength(2);
    const [big, next] = records;
    expect(big!.oversized).toBe(true);
    expect(big!.bytes.length).toBe(50);
    expect(big!.bytes.toString().startsWith("E1 start\n at frame0()")).toBe(true);
    expect(big!.length).toBe(text.indexOf("\nE2 next"));
    expect(big!.lastLineNumber).toBe(21);
    expect(next!.bytes.toString()).toBe("E2 next");
  });

  it("keeps an oversized input line alone", async () => {
    const records = await group(`E1 a\n ${"x".repeat(100)}\n at y\nE2 b`);
    expect(records.map((record) => [record.lineNumber, record.oversized])).toEqual([
      [1, false],
      [2, true],
      [3, false],
      [4, false],
    ]);
  });

  it("starts a new record after maxRecordLines", async () => {
    const records = await group("E1\n a\n b\n c\n d", { maxRecordLines: 2 });
    expect(records.map((record) => record.bytes.toString())).toEqual(["E1\n a", " b\n c", " d"]);
  });

  it("with flushAfterMs yields a tailed stream's last record without waiting for the next line", async () => {
    const input = new PassThrough();
    const records = groupLines(readLines(input, { maxLineBytes: 1024 }), {
      continues: indented,
      maxRecordBytes: 1024,
      flushAfterMs: 20,
    });
    input.write("E1 boom\n at a()\n");
    const first = await records.next();
    expect(first.value?.bytes.toString()).toBe("E1 boom\n at a()");
    input.write("E2 later\n");
    input.end();
    const second = await records.next();
    expect(second.value?.bytes.toString()).toBe("E2 later");
    expect((await records.next()).done).toBe(true);
  });

  it("loses no line and no byte, whatever the lines and the predicate", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.stringMatching(/^[a-z ]{1,12}$/), { maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        async (texts, maxRecordLines) => {
          const lines = texts.filter((text) => text.trim() !== "");
          const records = await group(lines.join("\n"), { maxRecordLines, maxRecordBytes: 10_000 });
          expect(records.map((record) => record.bytes.toString()).join("\n")).toBe(lines.join("\n"));
          expect(records.reduce((sum, record) => sum + record.lineCount, 0)).toBe(lines.length);
        },
      ),
      { numRuns: 100 },
    );
  });
});
