import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { type Line, readLines } from "./lines.ts";

async function collect(
  chunks: Array<string | Buffer>,
  maxLineBytes = 1024,
  oversizedKeepBytes?: number,
): Promise<Line[]> {
  const input = Readable.from(
    chunks.map((chunk) => (typeof chunk === "string" ? Buffer.from(chunk) : chunk)),
  );
  const lines: Line[] = [];
  for await (const line of readLines(input, {
    maxLineBytes,
    ...(oversizedKeepBytes ? { oversizedKeepBytes } : {}),
  })) {
    lines.push(line);
  }
  return lines;
}

const texts = (lines: Line[]) => lines.map((line) => [line.lineNumber, line.bytes.toString("utf8")]);

describe("readLines", () => {
  it("splits on \\n, drops \\r, skips blank lines but keeps counting them", async () => {
    const lines = await collect(["one\r\ntwo\n\n   \n\r\nthree\n"]);
    expect(texts(lines)).toEqual([
      [1, "one"],
      [2, "two"],
      [6, "three"],
    ]);
    expect(lines.every((line) => !line.oversized)).toBe(true);
    expect(lines[0]?.length).toBe(3);
  });

  it("yields a last line without a newline", async () => {
    expect(texts(await collect(['{"a":1}\n{"b":']))).toEqual([
      [1, '{"a":1}'],
      [2, '{"b":'],
    ]);
  });

  it("joins lines across chunk boundaries, one byte at a time, without corrupting multi-byte UTF-8", async () => {
    const text = "héllo wörld ✓\r\n日本語\nend";
    const bytes = Buffer.from(text);
    const chunks = [...bytes].map((byte) => Buffer.from([byte]));
    const lines = await collect(chunks);
    expect(texts(lines)).toEqual([
      [1, "héllo wörld ✓"],
      [2, "日本語"],
      [3, "end"],
    ]);
  });

  it("passes invalid UTF-8 through untouched, for the parser to judge", async () => {
    const raw = Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]);
    const [line] = await collect([raw]);
    expect(line?.bytes).toEqual(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
  });

  it("accepts a line of exactly maxLineBytes", async () => {
    const [line] = await collect([`${"x".repeat(16)}\n`], 16);
    expect(line).toMatchObject({ oversized: false, length: 16 });
  });

  it("reports an oversized line with a bounded prefix and goes on with the next line", async () => {
    const big = "A".repeat(5 * 1024 * 1024);
    const chunks = ["first\n", ...big.match(/.{1,65536}/g)!, "\nafter\n"];
    const lines = await collect(chunks, 1024 * 1024, 4096);
    expect(lines.map((line) => [line.lineNumber, line.oversized, line.length, line.bytes.length])).toEqual([
      [1, false, 5, 5],
      [2, true, 5 * 1024 * 1024, 4096],
      [3, false, 5, 5],
    ]);
    expect(lines[1]?.bytes.toString()).toBe("A".repeat(4096));
  });

  it("keeps at most maxLineBytes of an oversized line when that is smaller than the keep size", async () => {
    const [line] = await collect([`${"B".repeat(100)}\n`], 10);
    expect(line).toMatchObject({ oversized: true, length: 100 });
    expect(line?.bytes.toString()).toBe("B".repeat(10));
  });

  it("reports an oversized last line without a newline", async () => {
    const [line] = await collect(["C".repeat(50)], 20);
    expect(line).toMatchObject({ lineNumber: 1, oversized: true, length: 50 });
  });

  it("streams: the first line is available before the input ends", async () => {
    const input = new Readable({ read() {} });
    const iterator = readLines(input, { maxLineBytes: 100 })[Symbol.asyncIterator]();
    input.push("early\npartial");
    const first = await iterator.next();
    expect(first.value?.bytes.toString()).toBe("early");
    input.push(" rest\n");
    input.push(null);
    expect((await iterator.next()).value?.bytes.toString()).toBe("partial rest");
    expect((await iterator.next()).done).toBe(true);
  });

  it("ends quietly when aborted", async () => {
    const input = new Readable({ read() {} });
    const controller = new AbortController();
    const seen: string[] = [];
    input.push("one\n");
    const reading = (async () => {
      for await (const line of readLines(input, { maxLineBytes: 100, signal: controller.signal })) {
        seen.push(line.bytes.toString());
        controller.abort();
      }
    })();
    await reading;
    expect(seen).toEqual(["one"]);
    expect(input.destroyed).toBe(true);
  });

  it("refuses a nonsensical limit", async () => {
    await expect(collect(["x\n"], 0)).rejects.toThrow("maxLineBytes must be a positive integer");
  });
});
