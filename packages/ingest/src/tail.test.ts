import { appendFile, mkdtemp, readFile, rename, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileCheckpoint, type FilePosition, writeFileAtomic } from "./checkpoint.ts";
import { type TailEvent, type TailLine, tailFile } from "./tail.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "vigil-tail-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const text = (line: TailLine) => line.bytes.toString();

/** Pulls lines until `count` arrived (the tail keeps following), then stops it. */
async function take(
  iterator: AsyncGenerator<TailLine>,
  count: number,
  between?: (got: number) => Promise<void>,
): Promise<TailLine[]> {
  const got: TailLine[] = [];
  while (got.length < count) {
    const next = await iterator.next();
    if (next.done) break;
    got.push(next.value);
    await between?.(got.length);
  }
  return got;
}

describe("tailFile", () => {
  it("reads a file to its end without follow, with offsets just after each line and skipped blanks counted", async () => {
    const path = join(dir, "eve.json");
    await writeFile(path, "one\r\n\ntwo\n   \nthree");
    const lines: TailLine[] = [];
    for await (const line of tailFile({ path, maxLineBytes: 1024, follow: false })) lines.push(line);
    expect(lines.map(text)).toEqual(["one", "two", "three"]);
    expect(lines.map((line) => line.lineNumber)).toEqual([1, 3, 5]);
    expect(lines.map((line) => line.position.offset)).toEqual([5, 10, 19]);
  });

  it("resumes from a position: exactly the lines after it, with their numbers", async () => {
    const path = join(dir, "eve.json");
    await writeFile(path, "a\nb\nc\nd\n");
    const all: TailLine[] = [];
    for await (const line of tailFile({ path, maxLineBytes: 1024, follow: false })) all.push(line);
    const rest: TailLine[] = [];
    for await (const line of tailFile({ path, maxLineBytes: 1024, follow: false, start: all[1]!.position }))
      rest.push(line);
    expect(rest.map(text)).toEqual(["c", "d"]);
    expect(rest.map((line) => line.lineNumber)).toEqual([3, 4]);
  });

  it("cuts oversized lines to a prefix and goes on with the next line", async () => {
    const path = join(dir, "big.json");
    await writeFile(path, `${"x".repeat(10_000)}\nsmall\n`);
    const lines: TailLine[] = [];
    for await (const line of tailFile({
      path,
      maxLineBytes: 1000,
      oversizedKeepBytes: 100,
      chunkBytes: 512,
      follow: false,
    }))
      lines.push(line);
    expect(lines[0]).toMatchObject({ oversized: true, length: 10_000 });
    expect(lines[0]!.bytes.length).toBe(100);
    expect(lines[0]!.position.offset).toBe(10_001);
    expect(text(lines[1]!)).toBe("small");
  });

  it("follows appends, waits for a line's newline, and follows a rename + create rotation", async () => {
    const path = join(dir, "eve.json");
    await writeFile(path, "1\n2\n");
    const controller = new AbortController();
    const events: TailEvent[] = [];
    const tail = tailFile({
      path,
      maxLineBytes: 1024,
      pollIntervalMs: 10,
      signal: controller.signal,
      onEvent: (event) => events.push(event),
    });
    const lines = await take(tail, 6, async (got) => {
      if (got === 2) {
        await appendFile(path, "3\npart");
        await new Promise((resolve) => setTimeout(resolve, 40));
        await appendFile(path, "ial\n");
      }
      if (got === 3) {
        // partial line not yet complete: the tail must not emit it before its newline
      }
      if (got === 4) {
        await appendFile(path, "last-of-old-without-newline");
        await rename(path, `${path}.1`);
        await writeFile(path, "new-1\n");
      }
    });
    controller.abort();
    await tail.return(undefined);
    expect(lines.map(text)).toEqual(["1", "2", "3", "partial", "last-of-old-without-newline", "new-1"]);
    expect(lines[5]!.lineNumber).toBe(1);
    expect(lines[5]!.position.ino).not.toBe(lines[0]!.position.ino);
    expect(events.some((event) => event.kind === "rotated")).toBe(true);
  });

  it("restarts at byte 0 after copytruncate", async () => {
    const path = join(dir, "eve.json");
    await writeFile(path, "old-1\nold-2\n");
    const controller = new AbortController();
    const events: TailEvent[] = [];
    const tail = tailFile({
      path,
      maxLineBytes: 1024,
      pollIntervalMs: 10,
      signal: controller.signal,
      onEvent: (event) => events.push(event),
    });
    const lines = await take(tail, 3, async (got) => {
      if (got === 2) {
        await truncate(path, 0);
        await appendFile(path, "n1\n");
      }
    });
    controller.abort();
    await tail.return(undefined);
    expect(lines.map(text)).toEqual(["old-1", "old-2", "n1"]);
    expect(events.some((event) => event.kind === "truncated")).toBe(true);
  });

  it("after a restart finds the checkpointed file rotated away and reads its rest first", async () => {
    const path = join(dir, "eve.json");
    await writeFile(path, "a\nb\nc\n");
    let position: FilePosition | undefined;
    for await (const line of tailFile({ path, maxLineBytes: 1024, follow: false })) {
      position = line.position;
      if (text(line) === "a") break;
    }
    await rename(path, `${path}-20240317`);
    await writeFile(path, "d\n");
    const events: TailEvent[] = [];
    const rest: string[] = [];
    for await (const line of tailFile({
      path,
      maxLineBytes: 1024,
      follow: false,
      start: position,
      onEvent: (event) => events.push(event),
    }))
      rest.push(text(line));
    expect(rest).toEqual(["b", "c", "d"]);
    expect(events.map((event) => event.kind)).toContain("resumed-rotated");
  });

  it("starts over on a file that shrank below the checkpoint while the process was down", async () => {
    const path = join(dir, "eve.json");
    await writeFile(path, "a\n");
    const identityOf = async () => {
      for await (const line of tailFile({ path, maxLineBytes: 1024, follow: false })) return line.position;
      throw new Error("no line");
    };
    const position = { ...(await identityOf()), offset: 1000, line: 40 };
    const got: string[] = [];
    for await (const line of tailFile({ path, maxLineBytes: 1024, follow: false, start: position }))
      got.push(text(line));
    expect(got).toEqual(["a"]);
  });
});

describe("FileCheckpoint", () => {
  it("saves atomically, loads what was saved, and refuses another source's checkpoint", async () => {
    const path = join(dir, "state", "eve.ckpt");
    const checkpoint = new FileCheckpoint(path, "/var/log/suricata/eve.json");
    expect(await checkpoint.load()).toBeUndefined();
    const position = { dev: "2049", ino: "18446744073709551615", offset: 4096, line: 12 };
    await Promise.all([
      checkpoint.save({ ...position, offset: 1 }),
      checkpoint.save({ ...position, offset: 2 }),
      checkpoint.save(position),
    ]);
    expect(await new FileCheckpoint(path, "/var/log/suricata/eve.json").load()).toEqual(position);
    await expect(new FileCheckpoint(path, "/other.json").load()).rejects.toThrow(/belongs to/);
    await writeFileAtomic(path, "{torn");
    await expect(new FileCheckpoint(path, "/var/log/suricata/eve.json").load()).rejects.toThrow(
      /not valid JSON/,
    );
    expect(await readFile(path, "utf8")).toBe("{torn");
  });
});
