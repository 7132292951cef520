import { createSocket } from "node:dgram";
import { once } from "node:events";
import { connect } from "node:net";
import { silentLogger } from "@vigil/observability";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { SyslogFramer } from "./framing.ts";
import { type SyslogMessage, SyslogServer } from "./server.ts";

const logger = silentLogger();
const text = (frames: { bytes: Buffer }[]) => frames.map((frame) => frame.bytes.toString());

describe("SyslogFramer", () => {
  it("splits newline framing and drops a trailing CR", () => {
    const framer = new SyslogFramer(1024);
    expect(text(framer.push(Buffer.from("<13>one\r\n<13>two\n<13>thr")))).toEqual(["<13>one", "<13>two"]);
    expect(text(framer.push(Buffer.from("ee\n")))).toEqual(["<13>three"]);
  });

  it("reads octet-counted frames, also split across reads and mixed with newline frames", () => {
    const framer = new SyslogFramer(1024);
    const frames = [
      ...framer.push(Buffer.from("10 <13>hello\n")),
      ...framer.push(Buffer.from("9")),
      ...framer.push(Buffer.from(" <13>a\nb c")),
      ...framer.push(Buffer.from("<13>plain line\n")),
    ];
    expect(text(frames)).toEqual(["<13>hello\n", "<13>a\nb c", "<13>plain line"]);
  });

  it("treats digits not followed by a space as the start of a newline frame (PAN-OS CSV)", () => {
    const framer = new SyslogFramer(1024);
    expect(text(framer.push(Buffer.from("1,2020/02/09 00:00:00,x,TRAFFIC\n")))).toEqual([
      "1,2020/02/09 00:00:00,x,TRAFFIC",
    ]);
  });

  it("bounds an oversized message to its prefix and reports its full length", () => {
    const framer = new SyslogFramer(16);
    const frames = framer.push(Buffer.from(`${"x".repeat(100)}\nshort\n`));
    expect(frames).toHaveLength(2);
    expect(frames[0]).toMatchObject({ oversized: true, length: 100 });
    expect(frames[0]!.bytes.length).toBe(16);
    expect(frames[1]).toMatchObject({ oversized: false, length: 5 });
  });

  it("hands a partial frame on at the end of the stream", () => {
    const framer = new SyslogFramer(1024);
    expect(framer.push(Buffer.from("<13>cut"))).toEqual([]);
    expect(text(framer.end())).toEqual(["<13>cut"]);
  });

  it("never throws and never holds more than the limit, whatever the bytes (fuzz)", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (chunks) => {
        const framer = new SyslogFramer(64);
        for (const chunk of chunks) {
          for (const frame of framer.push(Buffer.from(chunk)))
            expect(frame.bytes.length).toBeLessThanOrEqual(64);
          expect(framer.heldBytes).toBeLessThanOrEqual(64 + 10);
        }
        framer.end();
      }),
      { numRuns: 300 },
    );
  });
});

describe("SyslogServer", () => {
  let server: SyslogServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function take(iterator: AsyncIterator<SyslogMessage>, count: number): Promise<SyslogMessage[]> {
    const out: SyslogMessage[] = [];
    while (out.length < count) {
      const next = await iterator.next();
      if (next.done) break;
      out.push(next.value);
    }
    return out;
  }

  it("receives over TCP and UDP with the peer, and ends after close", async () => {
    server = await SyslogServer.start({
      udp: { host: "127.0.0.1", port: 0 },
      tcp: { host: "127.0.0.1", port: 0 },
      logger,
    });
    const iterator = server.messages();
    const client = connect(server.addresses.tcp!.port, "127.0.0.1");
    await once(client, "connect");
    client.write("<13>Jan  1 00:00:00 host app: over tcp\n8 <13>oct!");
    const udp = createSocket("udp4");
    udp.send(Buffer.from("<13>over udp\n"), server.addresses.udp!.port, "127.0.0.1");
    const messages = await take(iterator, 3);
    expect(messages.map((m) => m.bytes.toString()).sort()).toEqual(
      ["<13>Jan  1 00:00:00 host app: over tcp", "<13>oct!", "<13>over udp"].sort(),
    );
    expect(messages.find((m) => m.transport === "udp")?.peer).toMatch(/^udp:\/\/127\.0\.0\.1:\d+$/);
    expect(messages.find((m) => m.transport === "tcp")?.peerAddress).toBe("127.0.0.1");
    udp.close();
    client.destroy();
    await server.close();
    expect((await iterator.next()).done).toBe(true);
  });

  it("pauses TCP while the queue is full and loses nothing", async () => {
    server = await SyslogServer.start({ tcp: { host: "127.0.0.1", port: 0 }, queueCapacity: 10, logger });
    const client = connect(server.addresses.tcp!.port, "127.0.0.1");
    await once(client, "connect");
    const total = 5000;
    for (let index = 0; index < total; index += 1) client.write(`<13>message ${index}\n`);
    client.end();
    // Nobody consumes yet: the server must pause instead of queueing everything.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.stats.pauses).toBeGreaterThan(0);
    expect(server.stats.queued).toBeLessThan(total);
    const iterator = server.messages();
    const received = await take(iterator, total);
    expect(received.map((m) => m.bytes.toString())).toEqual(
      Array.from({ length: total }, (_, index) => `<13>message ${index}`),
    );
  });

  it("counts UDP datagrams it cannot queue instead of losing them silently", async () => {
    server = await SyslogServer.start({ udp: { host: "127.0.0.1", port: 0 }, queueCapacity: 5, logger });
    const udp = createSocket("udp4");
    const sent = 50;
    for (let index = 0; index < sent; index += 1) {
      udp.send(Buffer.from(`<13>datagram ${index}`), server.addresses.udp!.port, "127.0.0.1");
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    udp.close();
    const { receivedUdp, udpDropped, queued } = server.stats;
    expect(udpDropped).toBeGreaterThan(0);
    expect(queued).toBe(5);
    expect(receivedUdp - udpDropped).toBe(queued);
  });

  it("refuses connections beyond the limit and closes idle ones", async () => {
    server = await SyslogServer.start({
      tcp: { host: "127.0.0.1", port: 0 },
      maxConnections: 1,
      idleTimeoutMs: 100,
      logger,
    });
    const first = connect(server.addresses.tcp!.port, "127.0.0.1");
    await once(first, "connect");
    const second = connect(server.addresses.tcp!.port, "127.0.0.1");
    second.on("error", () => {});
    await once(second, "close");
    await once(first, "close");
    expect(server.stats.connectionsRefused).toBe(1);
    expect(server.stats.idleClosed).toBe(1);
  });

  it("closes a client that trickles a message slower than the frame timeout", async () => {
    server = await SyslogServer.start({ tcp: { host: "127.0.0.1", port: 0 }, frameTimeoutMs: 150, logger });
    const client = connect(server.addresses.tcp!.port, "127.0.0.1");
    await once(client, "connect");
    const timer = setInterval(() => client.write("x"), 30);
    await once(client, "close");
    clearInterval(timer);
    expect(server.stats.slowClientsClosed).toBe(1);
  });
});
