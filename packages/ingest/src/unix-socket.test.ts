import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { listenUnixSocket, type SocketLine } from "./unix-socket.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "vigil-sock-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function send(path: string, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const client = connect(path, () => client.end(text));
    client.on("close", () => resolve());
    client.on("error", reject);
  });
}

it("yields the lines of each connection in turn, replaces a stale socket and cleans up on abort", async () => {
  const path = join(dir, "eve.sock");
  const controller = new AbortController();
  const events: string[] = [];
  const lines: SocketLine[] = [];
  const reading = (async () => {
    for await (const line of listenUnixSocket({
      path,
      maxLineBytes: 64,
      signal: controller.signal,
      onEvent: (event) => events.push(event.kind),
    })) {
      lines.push(line);
      if (lines.length === 4) controller.abort();
    }
  })();
  while (!events.includes("listening")) await new Promise((resolve) => setTimeout(resolve, 5));
  await send(path, '{"a":1}\n{"a":2}\n');
  await send(path, `${"x".repeat(100)}\n{"b":1}`);
  await reading;
  expect(lines.map((line) => [line.connection, line.oversized, line.bytes.toString().slice(0, 7)])).toEqual([
    [1, false, '{"a":1}'],
    [1, false, '{"a":2}'],
    [2, true, "x".repeat(7)],
    [2, false, '{"b":1}'],
  ]);

  // The path can be listened on again after a stop; a regular file at the path is refused.
  const again = new AbortController();
  const second = listenUnixSocket({ path, maxLineBytes: 64, signal: again.signal });
  const pending = second.next();
  await new Promise((resolve) => setTimeout(resolve, 50));
  again.abort();
  expect((await pending).done).toBe(true);
  const regular = join(dir, "not-a-socket");
  await writeFile(regular, "data");
  await expect(listenUnixSocket({ path: regular, maxLineBytes: 64 }).next()).rejects.toThrow(/not a socket/);
});
