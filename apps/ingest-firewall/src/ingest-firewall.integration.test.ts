import { createSocket } from "node:dgram";
import { once } from "node:events";
import { connect } from "node:net";
import type { SyslogServer } from "@vigil/ingest";
import { silentLogger } from "@vigil/observability";
import { dlqHeader, FirewallEventV1, topicName, topics } from "@vigil/schema";
import { createKafkaTransport, ensureRegistryTopics, type Transport } from "@vigil/stream";
import { kafkaBrokers, uniqueTopicPrefix, waitFor } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, type IngestFirewallConfig, runIngestFirewall } from "./index.ts";

let transport: Transport;

beforeAll(() => {
  transport = createKafkaTransport({ brokers: kafkaBrokers(), clientId: "ingest-firewall-integration-test" });
});

afterAll(async () => {
  await transport?.close();
});

function config(prefix: string, overrides: Partial<IngestFirewallConfig>): IngestFirewallConfig {
  const { values } = cli.parse(["--home-net", "10.20.0.0/16,172.16.10.0/24", "--topic-prefix", prefix], {});
  return { ...values, ...overrides };
}

const line = (index: number) =>
  `<4>Mar 12 09:10:03 edge-fw kernel: [UFW BLOCK] IN=eth0 OUT= SRC=203.0.${index >> 16}.${(index >> 8) & 255} DST=10.20.40.${index & 255} LEN=60 TTL=52 ID=${index} PROTO=TCP SPT=${1024 + (index % 60_000)} DPT=445 SYN URGP=0`;

async function startListener(prefix: string, overrides: Partial<IngestFirewallConfig>) {
  const controller = new AbortController();
  let server: SyslogServer | undefined;
  const done = runIngestFirewall({
    transport,
    logger: silentLogger(),
    config: config(prefix, overrides),
    signal: controller.signal,
    onListening: (bound) => {
      server = bound;
    },
  });
  await waitFor(() => server, { timeoutMs: 10_000 });
  return { server: server!, done, stop: () => controller.abort() };
}

describe("ingest-firewall on a real broker", () => {
  it("publishes every line of a 100k-line TCP burst and dead-letters bad lines with their bytes", async () => {
    const prefix = uniqueTopicPrefix("ingest-fw");
    await ensureRegistryTopics(transport, prefix);
    const { server, done, stop } = await startListener(prefix, {
      listenTcp: { host: "127.0.0.1", port: 0 },
      queueCapacity: 2000,
    });

    const total = 100_000;
    const bad = new Map<number, string>([
      [10, "this is not a firewall line"],
      [50_000, "<13>Mar 12 09:10:03 edge-fw kernel: "],
      [99_999, "%ASA-6-302013: Built inbound TCP connection garbled"],
    ]);
    const client = connect(server.addresses.tcp!.port, "127.0.0.1");
    await once(client, "connect");
    let chunk = "";
    for (let index = 0; index < total; index += 1) {
      chunk += `${bad.get(index) ?? line(index)}\n`;
      if (chunk.length > 256 * 1024) {
        if (!client.write(chunk)) await once(client, "drain");
        chunk = "";
      }
    }
    client.end(chunk);
    await once(client, "close");
    await waitFor(() => server.stats.received === total || undefined, { timeoutMs: 60_000 });
    stop();
    const summary = await done;
    expect(summary).toMatchObject({ read: total, published: total - bad.size, deadLettered: bad.size });
    expect(summary.syslog?.pauses).toBeGreaterThan(0);

    const events = await transport.readAll(topicName(topics.firewallEvents, prefix));
    const ids = new Set<string>();
    for (const message of events) ids.add(JSON.parse(message.value!.toString()).id);
    expect(ids.size).toBe(total - bad.size);
    const sample = FirewallEventV1.parse(JSON.parse(events[0]!.value!.toString()));
    expect(events[0]!.key?.toString()).toBe(sample.asset_ip);
    expect(sample).toMatchObject({
      action: "Denied",
      device: { hostname: "edge-fw", ip: "127.0.0.1" },
      dst_endpoint: { port: 445 },
    });

    const letters = await transport.readAll(topicName(topics.dlq, prefix));
    expect(letters.map((letter) => letter.value!.toString()).sort()).toEqual([...bad.values()].sort());
    for (const letter of letters) {
      expect(letter.headers[dlqHeader.reason]).toBeTruthy();
      expect(letter.headers[dlqHeader.sourceLocation]).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+#\d+$/);
      expect(letter.headers[dlqHeader.stage]).toBe("ingest-firewall");
    }
  });

  it("over UDP publishes what it queued and reports every datagram it could not queue", async () => {
    const prefix = uniqueTopicPrefix("ingest-fw-udp");
    await ensureRegistryTopics(transport, prefix);
    const { server, done, stop } = await startListener(prefix, {
      listenUdp: { host: "127.0.0.1", port: 0 },
      queueCapacity: 20,
    });
    const udp = createSocket("udp4");
    const sent = 5000;
    for (let index = 0; index < sent; index += 1)
      udp.send(line(index), server.addresses.udp!.port, "127.0.0.1");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    udp.close();
    stop();
    const summary = await done;
    const stats = summary.syslog!;
    expect(stats.receivedUdp).toBeLessThanOrEqual(sent);
    // Every datagram the listener saw is published or counted as dropped: none vanish inside Vigil.
    expect(summary.published + summary.deadLettered + stats.udpDropped).toBe(stats.receivedUdp);
    const events = await transport.readAll(topicName(topics.firewallEvents, prefix));
    expect(new Set(events.map((message) => JSON.parse(message.value!.toString()).id)).size).toBe(
      summary.published,
    );
    console.log(
      `UDP burst: sent ${sent}, received ${stats.receivedUdp}, published ${summary.published}, dropped (queue full) ${stats.udpDropped}`,
    );
  });
});
