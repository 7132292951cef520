import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CheckpointError } from "./checkpoint.ts";
import { type DirectoryFile, watchDirectory } from "./directory.ts";

const workDir = mkdtempSync(join(tmpdir(), "ingest-directory-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function layout(): string {
  const dir = mkdtempSync(join(workDir, "dir-"));
  mkdirSync(join(dir, "h1.corp.example"));
  mkdirSync(join(dir, ".hidden"));
  writeFileSync(join(dir, "top.log"), "a\n");
  writeFileSync(join(dir, "h1.corp.example", "x.log"), "b\n");
  writeFileSync(join(dir, "h1.corp.example", "notes.txt"), "c\n");
  writeFileSync(join(dir, ".hidden", "y.log"), "d\n");
  return dir;
}

describe("watchDirectory", () => {
  it("hands each accepted file over once, recursively, and a rerun none; a changed file again", async () => {
    const dir = layout();
    const statePath = join(dir, "state.json");
    const seen: DirectoryFile[] = [];
    const once = () =>
      watchDirectory({
        dir,
        statePath,
        recursive: true,
        accept: (name) => name.endsWith(".log"),
        once: true,
        pollMs: 10,
        process: async (file) => {
          seen.push(file);
        },
      });
    expect(await once()).toBe(2);
    expect(seen.map((file) => file.name)).toEqual(["h1.corp.example/x.log", "top.log"]);
    expect(Object.keys(JSON.parse(readFileSync(statePath, "utf8")).processed)).toEqual([
      "h1.corp.example/x.log",
      "top.log",
    ]);
    expect(await once()).toBe(0);
    writeFileSync(join(dir, "top.log"), "a\nmore\n");
    expect(await once()).toBe(1);
    expect(seen.at(-1)?.name).toBe("top.log");
  });

  it("does not remember a file whose processing resolved false, nor write state when not persisting", async () => {
    const dir = layout();
    const statePath = join(dir, "state.json");
    let calls = 0;
    const options = {
      dir,
      statePath,
      once: true,
      pollMs: 10,
      process: async () => {
        calls += 1;
        return false;
      },
    };
    expect(await watchDirectory(options)).toBe(0);
    expect(await watchDirectory(options)).toBe(0);
    expect(calls).toBe(2);
    expect(await watchDirectory({ ...options, persist: false, process: async () => true })).toBe(1);
    expect(() => readFileSync(statePath)).toThrow();
  });

  it("polling, takes a file once it held still for a scan, until aborted", async () => {
    const dir = layout();
    const controller = new AbortController();
    const names: string[] = [];
    await watchDirectory({
      dir,
      statePath: join(dir, "state.json"),
      once: false,
      pollMs: 5,
      signal: controller.signal,
      process: async (file) => {
        names.push(file.name);
        controller.abort();
      },
    });
    expect(names).toEqual(["top.log"]);
  });

  it("refuses a state file that is not one", async () => {
    const dir = layout();
    writeFileSync(join(dir, "state.json"), '{"processed": 3}');
    await expect(
      watchDirectory({
        dir,
        statePath: join(dir, "state.json"),
        once: true,
        pollMs: 1,
        process: async () => {},
      }),
    ).rejects.toThrow(CheckpointError);
  });
});
