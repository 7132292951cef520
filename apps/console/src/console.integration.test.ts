import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createIncidentStore, type IncidentStoreBackend } from "@vigil/incident-store";
import { silentLogger } from "@vigil/observability";
import { type FindingV1, IncidentEventV1, topicName, topics } from "@vigil/schema";
import { type RunningSinkIncidents, startSinkIncidents } from "@vigil/sink-incidents";
import { createKafkaTransport, encodeValue, ensureRegistryTopics, type Transport } from "@vigil/stream";
import { kafkaBrokers, uniqueTopicPrefix, waitFor } from "@vigil/testkit";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningConsole, startConsole } from "./index.ts";
import { exampleTables, finding, HOSTILE } from "./test-fixtures.ts";

const CHROMIUM = "/usr/bin/chromium";
const screenshots = new URL("../screenshots/", import.meta.url);
const ANALYST = "e2e-analyst-token-0123456789abcdef";
const logger = silentLogger();

describe("the console in headless Chromium, on the real broker", () => {
  const prefix = uniqueTopicPrefix("console-e2e");
  let transport: Transport;
  let store: IncidentStoreBackend;
  let sink: RunningSinkIncidents | undefined;
  let running: RunningConsole | undefined;
  let browser: Browser | undefined;

  const publish = async (values: FindingV1[]) => {
    await transport.send(
      topicName(topics.findings, prefix),
      values.map((value) => encodeValue(topics.findings, value, { key: value.asset.id, source: "e2e" })),
    );
  };

  beforeAll(async () => {
    // Fail, not skip: a browser test that silently does not run proves nothing.
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: install Debian's chromium (apt-get install --no-install-recommends chromium); ` +
          "the console's end-to-end test drives it through playwright-core and downloads no browser",
      );
    }
    transport = createKafkaTransport({ brokers: kafkaBrokers(), clientId: "console-e2e" });
    await ensureRegistryTopics(transport, prefix);
    store = await createIncidentStore({});
    sink = await startSinkIncidents({
      transport,
      logger,
      store,
      config: { topicPrefix: prefix, groupId: "sink", mergeWindow: 24 * 3600_000 },
    });
    await publish([
      finding({
        title: "SMB exploit attempt against a domain controller",
        severity: "critical",
        asset: "dc-01",
      }),
      finding({ title: "Port scan from a workstation", severity: "medium", asset: "ws-041" }),
      finding({ title: HOSTILE, severity: "low", asset: "printer-7" }),
    ]);
    await waitFor(async () => (await store.list({})).incidents.length === 3, {
      timeoutMs: 60_000,
      message: "the sink's three incidents in the store",
    });
    running = await startConsole({
      transport,
      store,
      tables: await exampleTables(),
      logger,
      config: {
        listen: "127.0.0.1:0",
        tokens: [{ token: ANALYST, name: "alice", role: "analyst" }],
        topicPrefix: prefix,
      },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"], headless: true });
    await mkdir(screenshots, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await running?.stop();
    await sink?.stop();
    await transport?.close();
  });

  it("shows the queue, adds a new incident live, and an acknowledgment reaches vigil.incident-events", async () => {
    const console_ = running!;
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      // A CSP violation is a bug in the page: it would mean inline script or style crept in.
      if (message.type() === "error") errors.push(message.text());
    });

    await page.goto(console_.url);
    expect(new URL(page.url()).pathname).toBe("/login");
    await page.fill("#token", ANALYST);
    await page.click("button[type=submit]");
    await page.waitForSelector("#queue tbody tr[data-id]");
    await page.waitForFunction(`document.querySelectorAll("#queue tbody tr[data-id]").length === 3`);
    await page.waitForSelector("#live.on");

    // The queue's order: urgency first.
    const titles = await page.$$eval("#queue tbody tr[data-id] td.title", (cells) =>
      cells.map((c) => c.textContent),
    );
    expect(titles[0]).toBe("SMB exploit attempt against a domain controller");
    // The hostile title is text on the page, and none of it ran.
    expect(titles).toContain(HOSTILE);
    expect(await page.evaluate("window.__pwned")).toBeUndefined();
    expect(await page.$$("#queue img")).toHaveLength(0);

    // A new incident arrives without a reload: the marker on the window survives.
    await page.evaluate("window.__sameDocument = true");
    await publish([finding({ title: "Appeared while watching", severity: "high", asset: "srv-9" })]);
    const fresh = await page.waitForSelector("#queue tbody tr.fresh", { timeout: 60_000 });
    expect(await fresh.textContent()).toContain("Appeared while watching");
    expect(await page.evaluate("window.__sameDocument")).toBe(true);
    await page.screenshot({ path: new URL("queue.png", screenshots).pathname, fullPage: true });

    // The incident page: why, ladder, actions; acknowledge it.
    await page.click(
      "#queue tbody tr[data-id] td.title a >> text=SMB exploit attempt against a domain controller",
    );
    const article = await page.waitForSelector("#incident");
    const incidentId = (await article.getAttribute("data-id")) ?? "";
    expect(incidentId).not.toBe("");
    expect(await page.textContent("#incident")).toContain("Why was this raised?");
    expect(await page.textContent("#incident")).toContain("Escalation ladder");
    // The page is redrawn on every live change: a click can land on a button just replaced, and
    // then no request leaves. Click until the POST is answered (a second acknowledgment would be
    // refused by the sink, so a retry cannot acknowledge twice).
    let answered = 0;
    for (let attempt = 0; attempt < 4 && answered === 0; attempt++) {
      const response = page
        .waitForResponse((r) => r.url().includes("/actions") && r.request().method() === "POST", {
          timeout: 20_000,
        })
        .catch(() => undefined);
      await page.click("button[data-action=acknowledge]");
      answered = (await response)?.status() ?? 0;
    }
    expect(answered).toBe(202);

    const acknowledged = await waitFor(
      async () => {
        const records = await transport.readAll(topicName(topics.incidentEvents, prefix));
        return records
          .map((record) => IncidentEventV1.parse(JSON.parse(String(record.value))))
          .find((event) => event.incident_id === incidentId && event.type === "acknowledged");
      },
      { timeoutMs: 60_000, message: "an acknowledged event on vigil.incident-events" },
    );
    expect(acknowledged.actor).toBe("alice");
    await page.waitForSelector("#timeline li[data-type=acknowledged]", { timeout: 60_000 });
    expect(await page.textContent("#timeline li[data-type=acknowledged]")).toContain("alice");
    // Once each: the store's events, the pushed ones and the incident's own timeline are merged.
    await page.waitForFunction(
      `document.querySelectorAll("#timeline li[data-type=acknowledged]").length === 1`,
    );
    await page.screenshot({ path: new URL("incident.png", screenshots).pathname, fullPage: true });

    // The asset view of an inventoried host: its card with baseline deltas and missing updates.
    await page.evaluate(`location.hash = "#/asset/host-ws-001"`);
    await page.waitForSelector("#asset >> text=Inventory");
    expect(await page.textContent("#asset")).toContain("KB5035845");
    expect(await page.textContent("#asset")).toContain("windows-10-workstation");

    // The pictures: incidents over time by urgency, patch compliance by baseline class.
    await page.click("header nav a >> text=Dashboard");
    await page.waitForSelector("#chart-over-time rect[data-urgency=critical]");
    await page.waitForSelector("#chart-compliance rect[data-part=below]");
    await page.screenshot({ path: new URL("dashboard.png", screenshots).pathname, fullPage: true });
    await page.click("header nav a >> text=Unmanaged hosts");
    await page.waitForSelector("#view >> text=printer-7");

    expect(errors).toEqual([]);
    expect(existsSync(new URL("queue.png", screenshots))).toBe(true);
    expect(existsSync(new URL("incident.png", screenshots))).toBe(true);
  }, 180_000);
});
