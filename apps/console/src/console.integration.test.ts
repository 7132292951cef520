import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createIncidentStore, type IncidentStoreBackend } from "@vigil/incident-store";
import { silentLogger } from "@vigil/observability";
import { type FindingV1, IncidentCommandV1, IncidentEventV1, topicName, topics } from "@vigil/schema";
import { type RunningSinkIncidents, startSinkIncidents } from "@vigil/sink-incidents";
import { createKafkaTransport, encodeValue, ensureRegistryTopics, type Transport } from "@vigil/stream";
import { kafkaBrokers, uniqueTopicPrefix, waitFor } from "@vigil/testkit";
import { type Browser, chromium, type Page, type Response } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningConsole, startConsole } from "./index.ts";
import { exampleTables, finding, HOSTILE } from "./test-fixtures.ts";

const CHROMIUM = "/usr/bin/chromium";
const screenshots = new URL("../screenshots/", import.meta.url);
const ANALYST = "e2e-analyst-token-0123456789abcdef";
const logger = silentLogger();
/**
 * Waits until `expression` is true in the page. Not `page.waitForFunction`: it polls a string
 * with `eval` inside the page, which the console's CSP refuses (`page.evaluate` is not subject to it).
 */
const pageWaitFor = (page: Page, expression: string, message: string) =>
  waitFor(async () => (await page.evaluate(expression)) === true, { timeoutMs: 60_000, message });
const isActionPost = (response: Response) =>
  response.request().method() === "POST" && new URL(response.url()).pathname.endsWith("/actions");

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

  /** A page that records its errors: a CSP violation is one (inline script or style crept in). */
  const openPage = async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    return { page, errors };
  };

  const signIn = async (page: Page) => {
    await page.goto(running!.url);
    expect(new URL(page.url()).pathname).toBe("/login");
    await page.fill("#token", ANALYST);
    await page.click("button[type=submit]");
    await page.waitForSelector("#queue tbody tr[data-id]");
  };

  const commandsFor = async (incidentId: string) =>
    (await transport.readAll(topicName(topics.incidentCommands, prefix)))
      .map((record) => IncidentCommandV1.parse(JSON.parse(String(record.value))))
      .filter((command) => command.incident_id === incidentId);

  it("shows the queue, adds a new incident live, and an acknowledgment reaches vigil.incident-events", async () => {
    const { page, errors } = await openPage();
    await signIn(page);
    await pageWaitFor(
      page,
      `document.querySelectorAll("#queue tbody tr[data-id]").length === 3`,
      "the three incidents in the queue",
    );
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
    // One click, one answer: the action bar is not redrawn by live changes (next test).
    const answer = page.waitForResponse(isActionPost, { timeout: 60_000 });
    await page.click("#incident button[data-action=acknowledge]");
    expect((await answer).status()).toBe(202);

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
    expect((await commandsFor(incidentId)).map((command) => command.type)).toEqual(["acknowledge"]);
    await page.waitForSelector("#timeline li[data-type=acknowledged]", { timeout: 60_000 });
    expect(await page.textContent("#timeline li[data-type=acknowledged]")).toContain("alice");
    // Once each: the store's events, the pushed ones and the incident's own timeline are merged.
    await pageWaitFor(
      page,
      `document.querySelectorAll("#timeline li[data-type=acknowledged]").length === 1`,
      "one acknowledgment in the timeline",
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

  it("keeps the action bar across live updates: one click sends one command, on the same button", async () => {
    const { page, errors } = await openPage();
    const posts: string[] = [];
    page.on("request", (request) => {
      if (request.method() === "POST" && new URL(request.url()).pathname.endsWith("/actions"))
        posts.push(request.postData() ?? "");
    });
    await signIn(page);
    const target = (await store.list({})).incidents.find((incident) => incident.asset.id === "ws-041");
    if (!target) throw new Error("the port scan incident of ws-041 is not in the store");
    expect(target.status).toBe("new");
    // Findings of the same rule, asset and group in the same window merge into the open incident:
    // each one is a new incident version and a `merged` event pushed to the page.
    const merge = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const next = finding({ asset: "ws-041", severity: "medium", time: target.first_seen });
        await publish([{ ...next, rule: { ...next.rule, id: target.rule_id, name: target.rule_id } }]);
      }
    };
    const findingsShown = (count: number) =>
      pageWaitFor(
        page,
        `[...document.querySelectorAll("#incident dt")].some(
          (dt) => dt.textContent === "Findings" && Number(dt.nextElementSibling.textContent) >= ${count})`,
        `${count} findings on the incident page`,
      );

    await page.evaluate(`location.hash = ${JSON.stringify(`#/incident/${encodeURIComponent(target.id)}`)}`);
    await page.waitForSelector(`#incident[data-id="${target.id}"] button[data-action=acknowledge]:enabled`);
    // Hold on to the bar's nodes: a redraw that replaced the bar would leave these on detached nodes.
    await page.evaluate(`window.__bar = {
      acknowledge: document.querySelector("#incident button[data-action=acknowledge]"),
      note: document.querySelector("#incident input[name=note]"),
    }`);
    await page.fill("#incident input[name=note]", "typed while the page updates");

    // A higher finding count on the page is a live change it has redrawn.
    await merge(3);
    await findingsShown(target.finding_count + 1);
    // Typing survives the redraws: the same field, still focused, still holding the text.
    expect(
      await page.evaluate(`document.activeElement === window.__bar.note && window.__bar.note.isConnected`),
    ).toBe(true);
    expect(await page.inputValue("#incident input[name=note]")).toBe("typed while the page updates");

    // The race of the bug, made certain: a live redraw between the button's press and release (the
    // page's own handler does exactly this call). A replaced button would get no click at all.
    await page.evaluate(`document.addEventListener("mousedown", () => renderIncident(state.current.detail),
      { capture: true, once: true })`);
    const answer = page.waitForResponse(isActionPost, { timeout: 60_000 });
    await page.click("#incident button[data-action=acknowledge]");
    expect((await answer).status()).toBe(202);
    await merge(3);
    await findingsShown(target.finding_count + 6);

    // The sink applied it: the same button now says why it is done (disabled while its POST was in
    // flight too, but then without a reason), nothing was rebuilt.
    await pageWaitFor(
      page,
      `window.__bar.acknowledge.disabled && window.__bar.acknowledge.title === "already acknowledged by alice"`,
      "the acknowledge button disabled as done",
    );
    await page.waitForSelector("#incident-status >> text=in_progress", { timeout: 60_000 });
    expect(
      await page.evaluate(`window.__bar.acknowledge.isConnected &&
        window.__bar.acknowledge === document.querySelector("#incident button[data-action=acknowledge]") &&
        window.__bar.note === document.querySelector("#incident input[name=note]")`),
    ).toBe(true);
    expect(await page.inputValue("#incident input[name=note]")).toBe("typed while the page updates");
    await pageWaitFor(
      page,
      `document.getElementById("action-message").textContent.startsWith("Sent (")`,
      "the answer shown in the action bar",
    );
    await pageWaitFor(
      page,
      `document.querySelectorAll("#timeline li[data-type=acknowledged]").length === 1`,
      "one acknowledgment in the timeline",
    );

    // Exactly one request left the page and exactly one command reached the topic.
    expect(posts).toEqual([JSON.stringify({ type: "acknowledge" })]);
    const commands = await waitFor(
      async () => {
        const found = await commandsFor(target.id);
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 60_000, message: "the acknowledgment on vigil.incident-commands" },
    );
    expect(commands.map((command) => [command.type, command.actor])).toEqual([["acknowledge", "alice"]]);
    expect(errors).toEqual([]);
  }, 180_000);
});
