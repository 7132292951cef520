import { PipelineMetrics, silentLogger } from "@vigil/observability";
import { freePort } from "@vigil/testkit";
import { describe, expect, it, vi } from "vitest";
import { runToEnd } from "./main.ts";

describe("runToEnd with --health-listen", () => {
  it("is ready while the ingest runs, not while it is held back, and stops serving when it ends", async () => {
    const metrics = new PipelineMetrics("run-to-end-test");
    const base = `http://127.0.0.1:${await freePort()}`;
    let finish: () => void = () => {};
    const input = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const running = runToEnd(
      { logger: silentLogger(), transport: undefined, metrics, values: { healthListen: base.slice(7) } },
      {
        name: "run-to-end-test",
        json: false,
        run: async () => {
          await input;
          return { read: 0 };
        },
        describe: () => "nothing read",
        inputError: () => undefined,
      },
    );
    const readyz = async () => {
      const response = await fetch(`${base}/readyz`);
      return { status: response.status, body: await response.json() };
    };
    await vi.waitFor(async () => expect((await readyz()).status).toBe(200), {
      timeout: 10_000,
      interval: 50,
    });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    const release = metrics.holdBack("send retrying");
    expect(await readyz()).toEqual({ status: 503, body: { status: "not ready", reason: "send retrying" } });
    release();
    expect((await readyz()).status).toBe(200);

    finish();
    await running;
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
