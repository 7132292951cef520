/** Loopback receivers for the outputs' tests: an HTTP server and a tiny SMTP server. */
import { createServer as createHttpServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer as createTcpServer, type Socket } from "node:net";
import type { IncidentEventV1, IncidentV1 } from "@vigil/schema";
import type { Delivery } from "../delivery.ts";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the receiver answers to the n-th request (0-based): a status and body, or no answer at all. */
export type Answer = { status: number; body?: string } | "hang";

export interface HttpReceiver {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function httpReceiver(
  answer: (index: number, request: RecordedRequest) => Answer,
): Promise<HttpReceiver> {
  const requests: RecordedRequest[] = [];
  const server = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const recorded = {
        method: request.method ?? "",
        path: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(recorded);
      const reply = answer(requests.length - 1, recorded);
      if (reply === "hang") return;
      response.writeHead(reply.status, { "Content-Type": "text/plain" }).end(reply.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ReceivedMail {
  from: string;
  to: string[];
  /** The raw message (headers and body) as transmitted, dot-unstuffed. */
  data: string;
}

export interface SmtpReceiver {
  port: number;
  messages: ReceivedMail[];
  close(): Promise<void>;
}

/**
 * Just enough SMTP (RFC 5321) for nodemailer: no TLS, no AUTH. `reject(n)` decides the reply
 * to the n-th MAIL FROM (a 4xx or 5xx code), or undefined to accept.
 */
export async function smtpReceiver(
  reject: (index: number) => number | undefined = () => undefined,
): Promise<SmtpReceiver> {
  const messages: ReceivedMail[] = [];
  const sockets = new Set<Socket>();
  let transactions = 0;
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.setEncoding("utf8");
    let buffer = "";
    let inData = false;
    let from = "";
    let to: string[] = [];
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply("220 localhost test SMTP");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      for (;;) {
        if (inData) {
          const end = buffer.indexOf("\r\n.\r\n");
          if (end === -1) return;
          const data = buffer.slice(0, end).replace(/^\.\./gm, ".");
          buffer = buffer.slice(end + 5);
          inData = false;
          messages.push({ from, to, data });
          reply("250 2.0.0 queued");
          continue;
        }
        const end = buffer.indexOf("\r\n");
        if (end === -1) return;
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") reply("250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8");
        else if (verb === "HELO") reply("250 localhost");
        else if (verb === "MAIL") {
          const code = reject(transactions++);
          if (code !== undefined) {
            reply(`${code} ${code >= 500 ? "5.7.1 refused" : "4.3.0 try again later"}`);
            continue;
          }
          from = /<([^>]*)>/.exec(line)?.[1] ?? "";
          to = [];
          reply("250 2.1.0 ok");
        } else if (verb === "RCPT") {
          to.push(/<([^>]*)>/.exec(line)?.[1] ?? "");
          reply("250 2.1.5 ok");
        } else if (verb === "DATA") {
          inData = true;
          reply("354 end with <CRLF>.<CRLF>");
        } else if (verb === "QUIT") {
          reply("221 bye");
          socket.end();
          return;
        } else if (verb === "RSET" || verb === "NOOP") reply("250 ok");
        else reply("502 5.5.2 not implemented");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    messages,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A valid incident without the optional response fields (as records written before them read). */
export function sampleIncident(overrides: Partial<IncidentV1> = {}): IncidentV1 {
  return {
    schema: "vigil.incident/v1",
    id: "inc-7f3a9c",
    title: "Vulnerable OpenSSH on db-01",
    description: "OpenSSH 8.9 with CVE-2024-6387 is reachable from the internet.",
    severity: "high",
    status: "new",
    rule_id: "core.vuln.exposed",
    asset: {
      id: "asset-db-01",
      ip: "10.0.0.5",
      hostname: "db-01.corp.example",
      known: true,
      priority: "critical",
      priority_reason: "priority list: databases",
      owner: "Finance IT",
      tags: ["db"],
    },
    group_key: "CVE-2024-6387",
    window_start: "2026-03-01T10:00:00Z",
    first_seen: "2026-03-01T10:02:00Z",
    last_seen: "2026-03-01T10:05:00Z",
    created_at: "2026-03-01T10:02:05Z",
    updated_at: "2026-03-01T10:05:05Z",
    finding_count: 2,
    finding_ids: ["f-1", "f-2"],
    evidence: [{ topic: "vigil.findings", id: "f-1", time: "2026-03-01T10:02:00Z", summary: "scan hit" }],
    explanation: "sshd 8.9p1 is affected by CVE-2024-6387 and port 22 is open to the internet",
    cves: ["CVE-2024-6387"],
    attack: ["T1190"],
    version: 3,
    ...overrides,
  };
}

export function sampleEvent(incident: IncidentV1, overrides: Partial<IncidentEventV1> = {}): IncidentEventV1 {
  return {
    schema: "vigil.incident-event/v1",
    id: `${incident.id}:created`,
    incident_id: incident.id,
    incident_version: incident.version,
    time: incident.updated_at,
    type: "created",
    actor: `rule:${incident.rule_id}`,
    summary: "incident raised",
    ...overrides,
  };
}

export function sampleDelivery(
  key = "inc-7f3a9c:3:created",
  incident: IncidentV1 = sampleIncident(),
  event: Partial<IncidentEventV1> = {},
): Delivery {
  return { key, incident, event: sampleEvent(incident, event) };
}
