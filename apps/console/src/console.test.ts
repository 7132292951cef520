import { readFile } from "node:fs/promises";
import { createIncidentStore, type IncidentStoreBackend } from "@vigil/incident-store";
import { silentLogger } from "@vigil/observability";
import { type FindingV1, IncidentCommandV1, type IncidentV1, topicName, topics } from "@vigil/schema";
import { startSinkIncidents } from "@vigil/sink-incidents";
import {
  createEmbeddedTransport,
  EmbeddedBroker,
  encodeValue,
  ensureRegistryTopics,
  type Transport,
} from "@vigil/stream";
import { waitFor } from "@vigil/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  Authenticator,
  CSRF_HEADER,
  parseTokens,
  parseTokensEnv,
  type RunningConsole,
  SESSION_COOKIE,
  startConsole,
  TokensError,
} from "./index.ts";
import { finding, HOSTILE } from "./test-fixtures.ts";

const prefix = "c.";
const ANALYST = "analyst-token-0123456789abcdef";
const VIEWER = "viewer-token-0123456789abcdef";
const tokens = [
  { token: ANALYST, name: "alice", role: "analyst" as const },
  { token: VIEWER, name: "victor", role: "viewer" as const },
];
const logger = silentLogger();

let transport: Transport;
let store: IncidentStoreBackend;
let stops: Array<() => Promise<void>>;
let console_: RunningConsole;

beforeEach(async () => {
  transport = createEmbeddedTransport({
    broker: new EmbeddedBroker(),
    retryBackoff: { initialMs: 10, maxMs: 50 },
  });
  await ensureRegistryTopics(transport, prefix);
  store = await createIncidentStore({});
  stops = [];
  const sink = await startSinkIncidents({
    transport,
    logger,
    store,
    config: { topicPrefix: prefix, groupId: "sink", mergeWindow: 24 * 3600_000 },
  });
  stops.push(sink.stop);
  console_ = await startConsole({
    transport,
    store,
    logger,
    config: { listen: "127.0.0.1:0", tokens, topicPrefix: prefix },
  });
  stops.push(console_.stop);
});

afterEach(async () => {
  for (const stop of stops.reverse()) await stop();
  await transport.close();
});

async function publishFinding(value: FindingV1): Promise<void> {
  await transport.send(topicName(topics.findings, prefix), [
    encodeValue(topics.findings, value, { key: value.asset.id, source: "test" }),
  ]);
}

async function raised(value: FindingV1): Promise<IncidentV1> {
  await publishFinding(value);
  return waitFor(
    async () =>
      (await store.list({ asset: value.asset.id })).incidents.find((i) => i.rule_id === value.rule.id),
    { message: `the incident of ${value.id} in the store` },
  );
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${console_.url}${path}`, { headers, redirect: "manual" });
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${console_.url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
    redirect: "manual",
  });

async function login(token = ANALYST): Promise<string> {
  const response = await post("/api/login", { token }, { [CSRF_HEADER]: "1" });
  expect(response.status).toBe(200);
  const cookie = response.headers.get("set-cookie") ?? "";
  return cookie.split(";")[0] ?? "";
}

describe("the console's HTTP API", () => {
  it("serves on loopback and sets the secure headers on every response", async () => {
    expect(new URL(console_.url).hostname).toBe("127.0.0.1");
    for (const response of [
      await get("/login"),
      await get("/api/incidents", bearer(VIEWER)),
      await get("/api/incidents"),
    ]) {
      expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(response.headers.get("content-security-policy")).not.toContain("unsafe-inline");
      expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("referrer-policy")).toBe("no-referrer");
      expect(response.headers.get("x-frame-options")).toBe("DENY");
    }
    expect((await get("/api/incidents", bearer(VIEWER))).headers.get("cache-control")).toBe("no-store");
    // The page holds no secret and no inline script.
    const page = await (await get("/login")).text();
    expect(page).not.toContain(ANALYST);
    expect(page).not.toMatch(/<script>(?!<\/script>)|<script(?![^>]*src=)[^>]*>/);
  });

  it("refuses callers without a valid token (401) and sends browsers to the login page", async () => {
    expect((await get("/api/incidents")).status).toBe(401);
    expect((await get("/api/incidents", bearer("not-a-token-at-all-0000"))).status).toBe(401);
    expect((await get("/api/stream")).status).toBe(401);
    const page = await get("/");
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/login");
    expect(
      (await post("/api/login", { token: "wrong-token-0123456789" }, { [CSRF_HEADER]: "1" })).status,
    ).toBe(401);
  });

  it("lets a viewer read but not act (403)", async () => {
    const incident = await raised(finding());
    const list = await get("/api/incidents", bearer(VIEWER));
    expect(list.status).toBe(200);
    expect(((await list.json()) as { incidents: IncidentV1[] }).incidents.map((i) => i.id)).toContain(
      incident.id,
    );
    const refused = await post(
      `/api/incidents/${incident.id}/actions`,
      { type: "acknowledge" },
      bearer(VIEWER),
    );
    expect(refused.status).toBe(403);
    expect(await transport.readAll(topicName(topics.incidentCommands, prefix))).toHaveLength(0);
  });

  it("publishes an analyst's action as a valid command keyed by incident id, which the sink applies", async () => {
    const incident = await raised(finding());
    const response = await post(
      `/api/incidents/${incident.id}/actions`,
      { type: "acknowledge" },
      bearer(ANALYST),
    );
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    const records = await transport.readAll(topicName(topics.incidentCommands, prefix));
    expect(records).toHaveLength(1);
    expect(String(records[0]?.key)).toBe(incident.id);
    const command = IncidentCommandV1.parse(JSON.parse(String(records[0]?.value)));
    expect(command).toMatchObject({ id, type: "acknowledge", incident_id: incident.id, actor: "alice" });
    const events = await waitFor(
      async () => (await store.events(incident.id)).find((event) => event.type === "acknowledged"),
      { message: "the acknowledged event in the store" },
    );
    expect(events.command_id).toBe(id);
    const detail = (await (await get(`/api/incidents/${incident.id}`, bearer(VIEWER))).json()) as {
      incident: IncidentV1;
      events: Array<{ type: string }>;
    };
    expect(detail.events.map((event) => event.type)).toContain("acknowledged");
  });

  it("rejects malformed actions (400) and unknown incidents (404) without publishing", async () => {
    const incident = await raised(finding());
    expect(
      (
        await post(
          `/api/incidents/${incident.id}/actions`,
          { type: "assign", assignee: " " },
          bearer(ANALYST),
        )
      ).status,
    ).toBe(400);
    expect(
      (
        await post(
          `/api/incidents/${incident.id}/actions`,
          { type: "set_status", status: "closed" },
          bearer(ANALYST),
        )
      ).status,
    ).toBe(400);
    expect(
      (await post(`/api/incidents/${incident.id}/actions`, { type: "delete" }, bearer(ANALYST))).status,
    ).toBe(400);
    expect((await post("/api/incidents/nope/actions", { type: "acknowledge" }, bearer(ANALYST))).status).toBe(
      404,
    );
    const raw = await fetch(`${console_.url}/api/incidents/${incident.id}/actions`, {
      method: "POST",
      headers: { ...bearer(ANALYST), "Content-Type": "text/plain" },
      body: "{}",
    });
    expect(raw.status).toBe(415);
    expect(await transport.readAll(topicName(topics.incidentCommands, prefix))).toHaveLength(0);
  });

  it("gives browsers a session cookie, not the token, and requires the CSRF header on POST", async () => {
    const incident = await raised(finding());
    expect((await post("/api/login", { token: ANALYST })).status).toBe(403);
    const response = await post("/api/login", { token: ANALYST }, { [CSRF_HEADER]: "1" });
    const setCookie = response.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=`));
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Strict");
    expect(setCookie).not.toContain(ANALYST);
    const cookie = setCookie.split(";")[0] ?? "";
    expect((await get("/api/me", { cookie })).status).toBe(200);
    expect((await get("/", { cookie })).status).toBe(200);
    const path = `/api/incidents/${incident.id}/actions`;
    expect((await post(path, { type: "acknowledge" }, { cookie })).status).toBe(403);
    expect(
      (
        await post(
          path,
          { type: "acknowledge" },
          { cookie, [CSRF_HEADER]: "1", Origin: "https://evil.example" },
        )
      ).status,
    ).toBe(403);
    expect((await post(path, { type: "acknowledge" }, { cookie, [CSRF_HEADER]: "1" })).status).toBe(202);
    // Signing out ends the session.
    expect((await post("/api/logout", {}, { cookie, [CSRF_HEADER]: "1" })).status).toBe(200);
    expect((await get("/api/me", { cookie })).status).toBe(401);
  });

  it("filters and sorts the queue by urgency then SLA due", async () => {
    const low = await raised(finding({ severity: "low", asset: "filter-a" }));
    const critical = await raised(finding({ severity: "critical", asset: "filter-b" }));
    const cookie = await login(VIEWER);
    const all = (await (await get("/api/incidents", { cookie })).json()) as { incidents: IncidentV1[] };
    const ids = all.incidents.map((i) => i.id);
    expect(ids.indexOf(critical.id)).toBeLessThan(ids.indexOf(low.id));
    const byRule = (await (
      await get(`/api/incidents?rule=${encodeURIComponent(low.rule_id)}`, { cookie })
    ).json()) as {
      incidents: IncidentV1[];
    };
    expect(byRule.incidents.map((i) => i.id)).toEqual([low.id]);
    const byAsset = (await (await get("/api/incidents?asset=filter-b", { cookie })).json()) as {
      incidents: IncidentV1[];
    };
    expect(byAsset.incidents.map((i) => i.id)).toEqual([critical.id]);
    expect((await get("/api/incidents?urgency=bogus", { cookie })).status).toBe(400);
    const asset = (await (await get("/api/assets/filter-a", { cookie })).json()) as {
      incidents: IncidentV1[];
      findings: Array<{ id: string; incident_id: string; rule: string }>;
    };
    expect(asset.incidents.map((i) => i.id)).toEqual([low.id]);
    // The host's findings: those of its incidents, each pointing at its incident.
    expect(asset.findings.map((f) => [f.id, f.incident_id])).toEqual(
      low.finding_ids.map((id) => [id, low.id]),
    );
  });

  it("pushes each changed incident to server-sent-event clients", async () => {
    const controller = new AbortController();
    const response = await fetch(`${console_.url}/api/stream`, {
      headers: bearer(VIEWER),
      signal: controller.signal,
    });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const reader = response.body!.getReader();
    await waitFor(() => console_.clients() === 1, { message: "the stream client registered" });
    const value = finding({ title: "pushed live" });
    await publishFinding(value);
    let text = "";
    const frame = await waitFor(
      async () => {
        const chunk = await reader.read();
        text += new TextDecoder().decode(chunk.value);
        const match = /event: incident\ndata: (.*)\n\n/.exec(text);
        return match?.[1];
      },
      { message: "an incident frame" },
    );
    const pushed = JSON.parse(frame) as IncidentV1;
    expect(pushed.title).toBe("pushed live");
    expect(pushed.rule_id).toBe(value.rule.id);
    controller.abort();
  });

  it("returns hostile strings as JSON data, and the page never parses data as HTML", async () => {
    const incident = await raised(finding({ title: HOSTILE }));
    const response = await get(`/api/incidents/${incident.id}`, bearer(VIEWER));
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const body = (await response.json()) as { incident: IncidentV1 };
    expect(body.incident.title).toBe(HOSTILE);
    const script = await readFile(new URL("./public/app.js", import.meta.url), "utf8");
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  });
});

describe("a console of its own (mirror)", () => {
  it("fills its own store from vigil.incidents and vigil.incident-events, then follows them", async () => {
    const before = await raised(finding({ title: "raised before the mirror started" }));
    const mirrorStore = await createIncidentStore({});
    const mirror = await startConsole({
      transport,
      store: mirrorStore,
      logger,
      mirror: true,
      config: { listen: "127.0.0.1:0", tokens, topicPrefix: prefix },
    });
    stops.push(async () => {
      await mirror.stop();
      await mirrorStore.close();
    });
    expect((await mirrorStore.get(before.id))?.title).toBe("raised before the mirror started");
    expect((await mirrorStore.events(before.id)).map((event) => event.type)).toContain("created");
    const after = finding({ title: "raised after" });
    await publishFinding(after);
    const incident = await waitFor(
      async () => (await mirrorStore.list({ asset: after.asset.id })).incidents[0],
      { message: "the new incident in the mirror" },
    );
    expect(incident.title).toBe("raised after");
  });
});

describe("tokens", () => {
  it("reads YAML files, JSON and the environment variable", () => {
    expect(parseTokens(`tokens:\n  - { token: ${ANALYST}, name: alice, role: analyst }\n`, "t.yaml")).toEqual(
      [tokens[0]],
    );
    expect(parseTokens(JSON.stringify({ [VIEWER]: { name: "victor", role: "viewer" } }), "t.json")).toEqual([
      tokens[1],
    ]);
    expect(parseTokensEnv(`${ANALYST}=alice:analyst, ${VIEWER}=victor:viewer`)).toEqual(tokens);
  });

  it("refuses short tokens, unknown roles and repeats without echoing the secret", () => {
    expect(() => parseTokensEnv("short=alice:analyst")).toThrow(TokensError);
    expect(() => parseTokensEnv(`${ANALYST}=alice:admin`)).toThrow(/role/);
    expect(() => parseTokensEnv(`${ANALYST}=a:analyst,${ANALYST}=b:viewer`)).toThrow(/repeats/);
    try {
      parseTokens(`- { token: ${ANALYST}, name: alice, role: root }`, "t.yaml");
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain(ANALYST);
    }
  });

  it("verifies tokens and expires sessions", () => {
    let now = 0;
    const auth = new Authenticator(tokens, { sessionMs: 1000, now: () => now });
    expect(auth.verifyToken(ANALYST)).toEqual({ name: "alice", role: "analyst" });
    expect(auth.verifyToken(`${ANALYST}x`)).toBeUndefined();
    const session = auth.openSession({ name: "alice", role: "analyst" });
    expect(session).not.toContain(ANALYST);
    expect(auth.session(session)?.name).toBe("alice");
    now = 1000;
    expect(auth.session(session)).toBeUndefined();
  });
});
