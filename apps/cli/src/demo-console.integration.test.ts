// `pnpm demo` serves the SOC console over the running pipeline: in headless Chromium (Debian's
// chromium, no download) the queue shows the demo's incidents, most urgent first.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { type DemoResult, runDemo } from "./demo.ts";

const CHROMIUM = "/usr/bin/chromium";
const examples = path.resolve(import.meta.dirname, "../../../examples");
const screenshots = path.resolve(import.meta.dirname, "../../console/screenshots");
const TOKEN = "demo-console-test-token-0123456789";

describe("the demo's console", () => {
  let browser: Browser | undefined;
  let demo: DemoResult | undefined;
  afterAll(async () => {
    await browser?.close();
    await demo?.console?.stop();
  });

  it("lists the demo's incidents in the browser", async () => {
    // Fail, not skip: a browser test that silently does not run proves nothing.
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
    demo = await runDemo({
      examplesDir: examples,
      logLevel: "silent",
      progress: () => {},
      console: { listen: "127.0.0.1:0", token: TOKEN },
    });
    const url = demo.console?.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"], headless: true });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(url!);
    await page.fill("#token", TOKEN);
    await page.click("button[type=submit]");
    await page.waitForSelector("#queue tbody tr[data-id]");
    const ids = await page.$$eval("#queue tbody tr[data-id]", (rows) =>
      rows.map((row) => row.getAttribute("data-id")),
    );
    const open = demo.incidents.filter((incident) => !["resolved", "closed"].includes(incident.status));
    expect(ids.length).toBe(Math.min(open.length, ids.length));
    expect(ids.length).toBeGreaterThanOrEqual(Math.min(open.length, 25));
    const known = new Set(open.map((incident) => incident.id));
    for (const id of ids) expect(known.has(id ?? ""), `${id} is one of the demo's open incidents`).toBe(true);
    // The most urgent of them heads the queue.
    const first = demo.incidents.find((incident) => incident.id === ids[0]);
    expect(first?.urgency).toBe("critical");
    await mkdir(screenshots, { recursive: true });
    await page.screenshot({ path: path.join(screenshots, "demo-queue.png"), fullPage: true });
  }, 180_000);
});
