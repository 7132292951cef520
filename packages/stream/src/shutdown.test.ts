// onShutdown in a real child process: signals are process-wide, so they are not sent to the test runner.
import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { describe, expect, it } from "vitest";

const shutdownModule = path.resolve(import.meta.dirname, "shutdown.ts");

/** Runs a script that installs onShutdown, waits for its "ready" line, sends SIGTERM, returns the outcome. */
async function terminate(
  body: string,
): Promise<{ code: number | null; signal: string | null; output: string }> {
  const script = `
    import { onShutdown } from ${JSON.stringify(shutdownModule)};
    // pino's two call shapes: (message) and (fields, message).
    const say = (a, b) => console.log(typeof a === "string" ? a : b);
    const logger = { info: say, warn: say, error: say };
    ${body}
    console.log("ready");
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    if (output.includes("ready\n") && !child.killed) child.kill("SIGTERM");
  });
  const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
  return { code, signal, output };
}

describe("onShutdown", () => {
  it("stops once and lets the process end by itself when nothing else holds it", async () => {
    const result = await terminate(`
      const keepAlive = setInterval(() => {}, 1000);
      onShutdown(logger, async () => { clearInterval(keepAlive); console.log("stop ran"); }, { exitGraceMs: 60000 });
    `);
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(result.output).toContain("stop ran\nstopped cleanly\n");
    expect(result.output).not.toContain("handles still open");
  });

  it("exits after the grace period when a handle outlives a clean stop", async () => {
    const result = await terminate(`
      setInterval(() => {}, 1000); // a library's forgotten timer
      onShutdown(logger, async () => {}, { exitGraceMs: 100 });
    `);
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(result.output).toContain("stopped cleanly\nhandles still open after stopping; exiting\n");
  });

  it("exits non-zero when stop fails", async () => {
    const result = await terminate(`
      setInterval(() => {}, 1000);
      onShutdown(logger, async () => { throw new Error("commit failed"); });
    `);
    expect(result).toMatchObject({ code: 1, signal: null });
    expect(result.output).toContain("shutdown failed");
  });
});
