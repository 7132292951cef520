import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { IncidentStoreBackend, ListQuery } from "@vigil/incident-store";
import type { Logger } from "@vigil/observability";
import {
  IncidentCommandV1,
  type IncidentEventV1,
  IncidentStatus,
  type IncidentV1,
  Severity,
  topicName,
  topics,
  Urgency,
  urgencyRank,
} from "@vigil/schema";
import { encodeValue, type Transport } from "@vigil/stream";
import { z } from "zod";
import type { Authenticator, Principal } from "./auth.ts";
import { assetCard, type ConsoleTables, compliance, overTime, unmanagedHosts } from "./views.ts";

export const SESSION_COOKIE = "vigil_session";
/** Browsers must send it on every state-changing request: a cross-site form cannot set a header. */
export const CSRF_HEADER = "x-vigil-csrf";
const MAX_BODY_BYTES = 64 * 1024;
const OPEN_STATUSES: IncidentStatus[] = ["new", "in_progress", "on_hold"];

const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

const STATIC_FILES: Record<string, { file: string; type: string; login?: boolean }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/login": { file: "login.html", type: "text/html; charset=utf-8", login: true },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/login.js": { file: "login.js", type: "text/javascript; charset=utf-8", login: true },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8", login: true },
};

export interface HandlerDeps {
  transport: Transport;
  store: IncidentStoreBackend;
  tables?: ConsoleTables | undefined;
  logger: Logger;
  auth: Authenticator;
  topicPrefix: string;
  /** Whether the browser reaches the console over HTTPS (the cookie is then `Secure`). */
  secureCookie: boolean;
  now: () => Date;
  stream: EventHub;
}

/** The server-sent-event clients; every changed incident and incident event is pushed to each. */
export class EventHub {
  readonly #clients = new Set<ServerResponse>();

  get size(): number {
    return this.#clients.size;
  }

  add(response: ServerResponse): void {
    this.#clients.add(response);
    response.on("close", () => this.#clients.delete(response));
  }

  publish(event: "incident" | "incident-event", value: IncidentV1 | IncidentEventV1): void {
    // JSON never holds a raw newline, so one `data:` line carries the whole record.
    const frame = `event: ${event}\ndata: ${JSON.stringify(value)}\n\n`;
    for (const client of this.#clients) client.write(frame);
  }

  publishComment(): void {
    for (const client of this.#clients) client.write(": keep-alive\n\n");
  }

  close(): void {
    for (const client of this.#clients) client.end();
    this.#clients.clear();
  }
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function securityHeaders(response: ServerResponse): void {
  response.setHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY);
  response.setHeader("X-Content-Type-Options", "nosniff");
  response.setHeader("Referrer-Policy", "no-referrer");
  response.setHeader("X-Frame-Options", "DENY");
  response.setHeader("Cross-Origin-Opener-Policy", "same-origin");
  response.setHeader("Cross-Origin-Resource-Policy", "same-origin");
  response.setHeader("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.statusCode = status;
  response.setHeader("Content-Type", "application/json; charset=utf-8");
  response.setHeader("Cache-Control", "no-store");
  response.end(JSON.stringify(body));
}

function cookies(request: IncomingMessage): Map<string, string> {
  const jar = new Map<string, string>();
  for (const part of (request.headers.cookie ?? "").split(";")) {
    const equals = part.indexOf("=");
    if (equals > 0) jar.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim());
  }
  return jar;
}

interface Caller extends Principal {
  via: "token" | "session";
}

function authenticate(request: IncomingMessage, auth: Authenticator): Caller | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const principal = match?.[1] ? auth.verifyToken(match[1]) : undefined;
    return principal ? { ...principal, via: "token" } : undefined;
  }
  const id = cookies(request).get(SESSION_COOKIE);
  const session = id ? auth.session(id) : undefined;
  return session ? { name: session.name, role: session.role, via: "session" } : undefined;
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const type = request.headers["content-type"] ?? "";
  if (!type.startsWith("application/json")) throw new HttpError(415, "expected application/json");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, "request body too large");
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "the body is not JSON");
  }
}

const listParams = z.object({
  status: z.string().optional(),
  urgency: z.string().optional(),
  severity: z.string().optional(),
  organisation: z.string().max(200).optional(),
  asset: z.string().max(200).optional(),
  rule: z.string().max(200).optional(),
  q: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

/** `a,b` into a checked list of enum values; `all` (status) means no filter. */
function enumList<T extends string>(
  value: string | undefined,
  schema: z.ZodType<T>,
  what: string,
): T[] | undefined {
  if (value === undefined || value === "" || value === "all") return undefined;
  return value.split(",").map((item) => {
    const parsed = schema.safeParse(item.trim());
    if (!parsed.success) throw new HttpError(400, `unknown ${what}: ${item.trim()}`);
    return parsed.data;
  });
}

/** Urgency first (critical first), then the SLA that falls due first: what to pick up next. */
export function queueOrder(a: IncidentV1, b: IncidentV1): number {
  const urgency = (b.urgency ? urgencyRank[b.urgency] : 0) - (a.urgency ? urgencyRank[a.urgency] : 0);
  if (urgency !== 0) return urgency;
  const due = (incident: IncidentV1) =>
    incident.sla ? Date.parse(incident.sla.due) : Number.POSITIVE_INFINITY;
  const byDue = due(a) - due(b);
  if (byDue !== 0 && !Number.isNaN(byDue)) return byDue;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

async function listIncidents(store: IncidentStoreBackend, params: URLSearchParams) {
  const parsed = listParams.safeParse(Object.fromEntries(params));
  if (!parsed.success) throw new HttpError(400, parsed.error.issues.map((issue) => issue.message).join("; "));
  const query = parsed.data;
  const status =
    query.status === undefined ? OPEN_STATUSES : enumList(query.status, IncidentStatus, "status");
  const urgency = enumList(query.urgency, Urgency, "urgency");
  const severity = enumList(query.severity, Severity, "severity");
  const limit = query.limit ?? 200;
  const base: ListQuery = {
    ...(status ? { status } : {}),
    ...(urgency ? { urgency } : {}),
    ...(severity ? { severity } : {}),
    ...(query.organisation ? { organisation: query.organisation } : {}),
    ...(query.asset ? { asset: query.asset } : {}),
    ...(query.q?.trim() ? { text: query.q } : {}),
    limit: Math.min(1000, limit),
  };
  // The store has no rule filter: walk its pages (bounded) and keep the rule's incidents.
  const incidents: IncidentV1[] = [];
  let cursor: string | undefined;
  let truncated = false;
  for (let pages = 0; ; pages += 1) {
    const page = await store.list({ ...base, ...(cursor ? { cursor } : {}) });
    for (const incident of page.incidents) {
      if (query.rule && incident.rule_id !== query.rule) continue;
      incidents.push(incident);
    }
    cursor = page.nextCursor;
    if (!cursor || incidents.length >= limit) {
      truncated = cursor !== undefined;
      break;
    }
    if (!query.rule || pages >= 20) {
      truncated = true;
      break;
    }
  }
  const page = incidents.slice(0, limit).sort(queueOrder);
  return { incidents: page, truncated: truncated || incidents.length > limit };
}

const ActionBody = z.discriminatedUnion("type", [
  z.object({ type: z.literal("acknowledge"), note: z.string().optional() }),
  z.object({ type: z.literal("assign"), assignee: z.string() }),
  z.object({ type: z.literal("comment"), text: z.string() }),
  z.object({ type: z.literal("set_status"), status: z.string() }),
  z.object({ type: z.literal("set_verdict"), verdict: z.string() }),
  z.object({ type: z.literal("resolve"), summary: z.string(), verdict: z.string().optional() }),
]);

function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`).join("; ");
}

async function postAction(deps: HandlerDeps, caller: Caller, incidentId: string, body: unknown) {
  const action = ActionBody.safeParse(body);
  if (!action.success) throw new HttpError(400, describe(action.error));
  const incident = await deps.store.get(incidentId);
  if (!incident) throw new HttpError(404, "no such incident");
  const { type: _type, ...fields } = action.data;
  const command = IncidentCommandV1.safeParse({
    schema: "vigil.incident-command/v1",
    id: randomUUID(),
    incident_id: incidentId,
    time: deps.now().toISOString(),
    actor: caller.name,
    type: action.data.type,
    ...fields,
  });
  if (!command.success) throw new HttpError(400, describe(command.error));
  const topic = topicName(topics.incidentCommands, deps.topicPrefix);
  const message = encodeValue(topics.incidentCommands, command.data, {
    key: incidentId,
    source: "vigil/console",
  });
  await deps.transport.send(topic, [message]);
  deps.logger.info(
    { incident: incidentId, command: command.data.id, type: command.data.type, actor: caller.name },
    "command published",
  );
  return command.data;
}

const publicDir = new URL("./public/", import.meta.url);

async function serveStatic(response: ServerResponse, file: string, type: string): Promise<void> {
  const body = await readFile(new URL(file, publicDir));
  response.statusCode = 200;
  response.setHeader("Content-Type", type);
  response.setHeader("Cache-Control", "no-cache");
  response.end(body);
}

function redirect(response: ServerResponse, location: string): void {
  response.statusCode = 303;
  response.setHeader("Location", location);
  response.setHeader("Cache-Control", "no-store");
  response.end();
}

/** Same-origin requests only, when the browser says where it comes from. */
function sameOrigin(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (origin === undefined || origin === "null") return origin === undefined;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

function pathSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, "malformed path");
  }
}

export function createHandler(deps: HandlerDeps) {
  const { auth, store, logger } = deps;
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    securityHeaders(response);
    const url = new URL(request.url ?? "/", "http://console.invalid");
    const path = url.pathname;
    const method = request.method ?? "GET";
    try {
      const page = STATIC_FILES[path];
      if (page && (method === "GET" || method === "HEAD")) {
        if (!page.login && !authenticate(request, auth)) return redirect(response, "/login");
        return await serveStatic(response, page.file, page.type);
      }
      if (path === "/favicon.ico") {
        response.statusCode = 204;
        response.end();
        return;
      }
      if (!path.startsWith("/api/")) throw new HttpError(404, "not found");

      if (path === "/api/login" || path === "/api/logout") {
        if (method !== "POST") throw new HttpError(405, "POST only");
        if (request.headers[CSRF_HEADER] === undefined || !sameOrigin(request)) {
          throw new HttpError(403, `the ${CSRF_HEADER} header is required`);
        }
        if (path === "/api/logout") {
          const id = cookies(request).get(SESSION_COOKIE);
          if (id) auth.closeSession(id);
          response.setHeader(
            "Set-Cookie",
            `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`,
          );
          return sendJson(response, 200, { ok: true });
        }
        const body = z.object({ token: z.string().max(4096) }).safeParse(await readBody(request));
        const principal = body.success ? auth.verifyToken(body.data.token) : undefined;
        if (!principal) {
          logger.warn({ remote: request.socket.remoteAddress }, "console login refused");
          throw new HttpError(401, "unknown token");
        }
        const id = auth.openSession(principal);
        response.setHeader(
          "Set-Cookie",
          `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict${deps.secureCookie ? "; Secure" : ""}`,
        );
        logger.info({ user: principal.name, role: principal.role }, "console login");
        return sendJson(response, 200, { name: principal.name, role: principal.role });
      }

      const caller = authenticate(request, auth);
      if (!caller) {
        response.setHeader("WWW-Authenticate", 'Bearer realm="vigil-console"');
        throw new HttpError(401, "authentication required");
      }
      if (method === "POST") {
        if (
          caller.via === "session" &&
          (request.headers[CSRF_HEADER] === undefined || !sameOrigin(request))
        ) {
          throw new HttpError(403, `the ${CSRF_HEADER} header is required`);
        }
        if (caller.role !== "analyst") throw new HttpError(403, "the analyst role is required");
        const match = /^\/api\/incidents\/([^/]+)\/actions$/.exec(path);
        if (!match?.[1]) throw new HttpError(404, "not found");
        const command = await postAction(deps, caller, pathSegment(match[1]), await readBody(request));
        return sendJson(response, 202, { id: command.id, command });
      }
      if (method !== "GET") throw new HttpError(405, "GET or POST only");

      if (path === "/api/me")
        return sendJson(response, 200, { name: caller.name, role: caller.role, tables: !!deps.tables });
      if (path === "/api/incidents")
        return sendJson(response, 200, await listIncidents(store, url.searchParams));
      if (path === "/api/stream") {
        response.statusCode = 200;
        response.setHeader("Content-Type", "text/event-stream; charset=utf-8");
        response.setHeader("Cache-Control", "no-store");
        response.setHeader("X-Accel-Buffering", "no");
        response.flushHeaders();
        response.write(": connected\n\n");
        deps.stream.add(response);
        return;
      }
      if (path === "/api/stats/over-time") {
        const bucket = url.searchParams.get("bucket") === "day" ? "day" : "hour";
        const all: IncidentV1[] = [];
        let cursor: string | undefined;
        // Bounded: the picture is of the recent estate, not an export.
        for (let pages = 0; pages < 10; pages += 1) {
          const page = await store.list({ limit: 1000, ...(cursor ? { cursor } : {}) });
          all.push(...page.incidents);
          cursor = page.nextCursor;
          if (!cursor) break;
        }
        return sendJson(response, 200, overTime(all, bucket));
      }
      if (path === "/api/compliance") {
        if (!deps.tables) return sendJson(response, 200, { tables: false, classes: [] });
        return sendJson(response, 200, {
          tables: true,
          classes: compliance(deps.tables, deps.now().getTime()),
        });
      }
      if (path === "/api/unmanaged") {
        if (!deps.tables) return sendJson(response, 200, { tables: false, hosts: [] });
        return sendJson(response, 200, { tables: true, hosts: unmanagedHosts(deps.tables) });
      }
      const incidentMatch = /^\/api\/incidents\/([^/]+)$/.exec(path);
      if (incidentMatch?.[1]) {
        const id = pathSegment(incidentMatch[1]);
        const incident = await store.get(id);
        if (!incident) throw new HttpError(404, "no such incident");
        const events = await store.events(id);
        const asset = deps.tables
          ? assetCard(deps.tables, incident.asset.id, deps.now().getTime())
          : undefined;
        const advisories = deps.tables
          ? incident.cves.map((cve) => ({
              cve,
              known_exploited: (deps.tables?.advisoriesForCve(cve) ?? []).some(
                (advisory) => !!advisory.known_exploited,
              ),
              advisories: (deps.tables?.advisoriesForCve(cve) ?? []).map((advisory) => ({
                id: advisory.id,
                title: advisory.title,
              })),
            }))
          : incident.cves.map((cve) => ({ cve }));
        return sendJson(response, 200, { incident, events, asset, advisories });
      }
      const assetMatch = /^\/api\/assets\/([^/]+)$/.exec(path);
      if (assetMatch?.[1]) {
        const id = pathSegment(assetMatch[1]);
        const page = await store.list({ asset: id, status: OPEN_STATUSES, limit: 1000 });
        const card = deps.tables ? assetCard(deps.tables, id, deps.now().getTime()) : undefined;
        // Every finding lands in an incident: the host's findings are those of all its incidents
        // (resolved ones too), newest first, as far as each incident keeps their ids.
        const all = await store.list({ asset: id, limit: 1000 });
        const findings = all.incidents
          .flatMap((incident) =>
            incident.finding_ids.map((findingId) => ({
              id: findingId,
              incident_id: incident.id,
              rule: incident.rule_id,
              title: incident.title,
              status: incident.status,
              last_seen: incident.last_seen,
            })),
          )
          .sort((a, b) => b.last_seen.localeCompare(a.last_seen) || a.id.localeCompare(b.id));
        return sendJson(response, 200, { id, incidents: page.incidents.sort(queueOrder), findings, card });
      }
      throw new HttpError(404, "not found");
    } catch (error) {
      if (response.headersSent) {
        response.end();
        return;
      }
      if (error instanceof HttpError) return sendJson(response, error.status, { error: error.message });
      logger.error({ err: error, path }, "console request failed");
      sendJson(response, 500, { error: "internal error" });
    }
  };
}
