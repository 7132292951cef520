import { createSocket, type RemoteInfo, type Socket as UdpSocket } from "node:dgram";
import { once } from "node:events";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TlsOptions } from "node:tls";
import type { Logger } from "@vigil/observability";
import type { Line } from "../lines.ts";
import { SyslogFramer } from "./framing.ts";

/** One syslog message as a `Line`, with where it came from. */
export interface SyslogMessage extends Line {
  /** `udp://10.0.0.1:514`, `tcp://...`, `tls://...` */
  peer: string;
  /** The sender's address alone (the device when a message's header names none). */
  peerAddress: string;
  transport: "udp" | "tcp" | "tls";
}

export interface ListenAddress {
  host: string;
  port: number;
}

export interface SyslogServerOptions {
  udp?: ListenAddress | undefined;
  tcp?: ListenAddress | undefined;
  /** With `tcp`: accept TLS (RFC 5425) instead of plain TCP on that address. */
  tls?: Pick<TlsOptions, "key" | "cert" | "ca" | "requestCert"> | undefined;
  /** Longest message accepted (default 64 KiB); longer ones are yielded once as oversized. */
  maxMessageBytes?: number;
  /** Concurrent TCP/TLS connections (default 512); more are refused and counted. */
  maxConnections?: number;
  /** A connection silent this long is closed (default 5 min). */
  idleTimeoutMs?: number;
  /**
   * A message may take this long to arrive once begun (default 60 s): a client that trickles
   * bytes (one a second) is closed rather than holding a buffer forever.
   */
  frameTimeoutMs?: number;
  /** Messages held between the sockets and the consumer (default 10 000). */
  queueCapacity?: number;
  /** UDP receive buffer, bytes (default: the system's). */
  udpReceiveBufferBytes?: number;
  logger: Logger;
}

export interface SyslogServerStats {
  received: number;
  receivedUdp: number;
  receivedTcp: number;
  /** UDP datagrams that arrived while the queue was full: counted, logged, never silently lost. */
  udpDropped: number;
  connectionsAccepted: number;
  connectionsRefused: number;
  connectionsOpen: number;
  idleClosed: number;
  slowClientsClosed: number;
  oversized: number;
  /** Times the TCP sockets were paused because the consumer was behind. */
  pauses: number;
  queued: number;
}

/**
 * A syslog listener (UDP, TCP, optional TLS) that hands messages to one consumer through a
 * bounded queue. When the queue is full every TCP socket is paused (the kernel's window then
 * slows the senders) and resumed once the queue has drained to half; UDP cannot be slowed, so
 * datagrams that find the queue full are counted in `stats.udpDropped` and logged. Never throws
 * on input; socket errors close that socket only.
 */
export class SyslogServer {
  readonly stats: SyslogServerStats = {
    received: 0,
    receivedUdp: 0,
    receivedTcp: 0,
    udpDropped: 0,
    connectionsAccepted: 0,
    connectionsRefused: 0,
    connectionsOpen: 0,
    idleClosed: 0,
    slowClientsClosed: 0,
    oversized: 0,
    pauses: 0,
    queued: 0,
  };
  readonly #options: SyslogServerOptions;
  readonly #logger: Logger;
  readonly #maxMessageBytes: number;
  readonly #capacity: number;
  readonly #resumeAt: number;
  #queue: SyslogMessage[] = [];
  #head = 0;
  #sequence = 0;
  #paused = false;
  #closed = false;
  #waiter: (() => void) | undefined;
  #udp: UdpSocket | undefined;
  #tcp: Server | undefined;
  readonly #connections = new Map<Socket, { framer: SyslogFramer; frameStartedAt: number }>();
  #slowClientTimer: NodeJS.Timeout | undefined;
  #dropLogTimer: NodeJS.Timeout | undefined;
  #droppedSinceLog = 0;
  #consuming = false;

  private constructor(options: SyslogServerOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#maxMessageBytes = options.maxMessageBytes ?? 64 * 1024;
    this.#capacity = Math.max(1, options.queueCapacity ?? 10_000);
    this.#resumeAt = Math.floor(this.#capacity / 2);
  }

  static async start(options: SyslogServerOptions): Promise<SyslogServer> {
    if (!options.udp && !options.tcp)
      throw new Error("a syslog server needs a UDP or a TCP address to listen on");
    const server = new SyslogServer(options);
    try {
      await server.#listen();
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  /** The queue filled up and has not drained to half yet: TCP sockets are paused, UDP datagrams dropped. */
  get backpressured(): boolean {
    return this.#paused;
  }

  /** Where the listeners are bound (port 0 picks a free one). */
  get addresses(): { udp?: AddressInfo; tcp?: AddressInfo } {
    const result: { udp?: AddressInfo; tcp?: AddressInfo } = {};
    if (this.#udp) result.udp = this.#udp.address();
    const tcp = this.#tcp?.address();
    if (tcp && typeof tcp === "object") result.tcp = tcp;
    return result;
  }

  async #listen(): Promise<void> {
    const { udp, tcp, tls } = this.#options;
    if (udp) {
      const family = udp.host.includes(":") ? "udp6" : "udp4";
      const socket = createSocket({
        type: family,
        ...(this.#options.udpReceiveBufferBytes
          ? { recvBufferSize: this.#options.udpReceiveBufferBytes }
          : {}),
      });
      socket.on("message", (data, rinfo) => this.#onDatagram(data, rinfo));
      socket.on("error", (error) => this.#logger.error({ err: error }, "syslog UDP socket error"));
      socket.bind(udp.port, udp.host);
      await once(socket, "listening");
      this.#udp = socket;
    }
    if (tcp) {
      const onConnection = (socket: Socket) => this.#onConnection(socket, tls ? "tls" : "tcp");
      const server = tls ? createTlsServer({ ...tls }, onConnection) : createServer(onConnection);
      server.maxConnections = this.#options.maxConnections ?? 512;
      server.on("drop", (data) => {
        this.stats.connectionsRefused += 1;
        this.#logger.warn(
          { peer: data?.remoteAddress, maxConnections: server.maxConnections },
          "syslog connection refused: too many connections",
        );
      });
      server.on("error", (error) => this.#logger.error({ err: error }, "syslog TCP server error"));
      if (tls)
        server.on("tlsClientError", (error) =>
          this.#logger.warn({ err: error }, "syslog TLS handshake failed"),
        );
      server.listen(tcp.port, tcp.host);
      await once(server, "listening");
      this.#tcp = server;
      const frameTimeoutMs = this.#options.frameTimeoutMs ?? 60_000;
      this.#slowClientTimer = setInterval(
        () => this.#closeSlowClients(frameTimeoutMs),
        Math.min(1000, frameTimeoutMs),
      ).unref();
    }
  }

  #enqueue(message: SyslogMessage): void {
    this.#queue.push(message);
    this.stats.queued = this.#queue.length - this.#head;
    this.#waiter?.();
  }

  #onDatagram(data: Buffer, rinfo: RemoteInfo): void {
    if (this.#closed) return;
    this.stats.received += 1;
    this.stats.receivedUdp += 1;
    if (this.#queue.length - this.#head >= this.#capacity) {
      this.stats.udpDropped += 1;
      this.#droppedSinceLog += 1;
      this.#dropLogTimer ??= setTimeout(() => {
        this.#dropLogTimer = undefined;
        this.#logger.warn(
          {
            dropped: this.#droppedSinceLog,
            udpDroppedTotal: this.stats.udpDropped,
            queueCapacity: this.#capacity,
          },
          "syslog UDP datagrams dropped: the publish queue is full",
        );
        this.#droppedSinceLog = 0;
      }, 1000).unref();
      return;
    }
    let bytes = data;
    // A datagram is one message; a trailing newline is framing, not content.
    while (
      bytes.length > 0 &&
      (bytes[bytes.length - 1] === 0x0a || bytes[bytes.length - 1] === 0x0d || bytes[bytes.length - 1] === 0)
    )
      bytes = bytes.subarray(0, bytes.length - 1);
    if (isBlank(bytes)) return;
    const oversized = bytes.length > this.#maxMessageBytes;
    if (oversized) this.stats.oversized += 1;
    const address = rinfo.family === "IPv6" ? `[${rinfo.address}]` : rinfo.address;
    this.#enqueue({
      lineNumber: ++this.#sequence,
      bytes: oversized ? Buffer.from(bytes.subarray(0, Math.min(this.#maxMessageBytes, 64 * 1024))) : bytes,
      oversized,
      length: bytes.length,
      peer: `udp://${address}:${rinfo.port}`,
      peerAddress: rinfo.address,
      transport: "udp",
    });
  }

  #onConnection(socket: Socket, transport: "tcp" | "tls"): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.stats.connectionsAccepted += 1;
    this.stats.connectionsOpen += 1;
    const address = socket.remoteAddress ?? "unknown";
    const peer = `${transport}://${address.includes(":") ? `[${address}]` : address}:${socket.remotePort ?? 0}`;
    const state = { framer: new SyslogFramer(this.#maxMessageBytes), frameStartedAt: 0 };
    this.#connections.set(socket, state);
    if (this.#paused) socket.pause();
    socket.setTimeout(this.#options.idleTimeoutMs ?? 300_000);
    socket.on("timeout", () => {
      this.stats.idleClosed += 1;
      this.#logger.info({ peer }, "syslog connection idle: closed");
      socket.destroy();
    });
    const deliver = (frames: ReturnType<SyslogFramer["push"]>) => {
      for (const frame of frames) {
        if (!frame.oversized && isBlank(frame.bytes)) continue;
        this.stats.received += 1;
        this.stats.receivedTcp += 1;
        if (frame.oversized) this.stats.oversized += 1;
        this.#enqueue({
          lineNumber: ++this.#sequence,
          bytes: frame.bytes,
          oversized: frame.oversized,
          length: frame.length,
          peer,
          peerAddress: address,
          transport,
        });
      }
      // Backpressure: the consumer is behind, so no socket reads until it catches up.
      if (!this.#paused && this.#queue.length - this.#head >= this.#capacity) this.#pauseAll();
    };
    socket.on("data", (chunk: Buffer) => {
      const wasPending = state.framer.pending;
      deliver(state.framer.push(chunk));
      if (!state.framer.pending) state.frameStartedAt = 0;
      else if (!wasPending || state.frameStartedAt === 0) state.frameStartedAt = Date.now();
    });
    socket.on("end", () => {
      deliver(state.framer.end());
      socket.end();
    });
    socket.on("error", (error) => this.#logger.debug({ err: error, peer }, "syslog connection error"));
    socket.on("close", () => {
      this.#connections.delete(socket);
      this.stats.connectionsOpen -= 1;
    });
  }

  #closeSlowClients(frameTimeoutMs: number): void {
    const now = Date.now();
    for (const [socket, state] of this.#connections) {
      // A paused socket is not slow: we are.
      if (this.#paused || state.frameStartedAt === 0 || !state.framer.pending) continue;
      if (now - state.frameStartedAt > frameTimeoutMs) {
        this.stats.slowClientsClosed += 1;
        this.#logger.warn(
          { peer: socket.remoteAddress, heldBytes: state.framer.heldBytes, frameTimeoutMs },
          "syslog client too slow to finish a message: closed",
        );
        socket.destroy();
      }
    }
  }

  #pauseAll(): void {
    this.#paused = true;
    this.stats.pauses += 1;
    for (const socket of this.#connections.keys()) socket.pause();
    this.#logger.debug({ queued: this.#queue.length - this.#head }, "syslog queue full: TCP reads paused");
  }

  #resumeAll(): void {
    this.#paused = false;
    for (const [socket, state] of this.#connections) {
      socket.resume();
      // The time spent paused was ours, not the client's.
      if (state.frameStartedAt !== 0) state.frameStartedAt = Date.now();
    }
  }

  /** The messages, in arrival order; ends after `close()` once the queue is drained. One consumer. */
  async *messages(): AsyncGenerator<SyslogMessage> {
    if (this.#consuming) throw new Error("a syslog server has one consumer");
    this.#consuming = true;
    for (;;) {
      if (this.#head < this.#queue.length) {
        const message = this.#queue[this.#head]!;
        this.#head += 1;
        // Compact now and then instead of shifting (O(1) per message).
        if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
          this.#queue = this.#queue.slice(this.#head);
          this.#head = 0;
        }
        const queued = this.#queue.length - this.#head;
        this.stats.queued = queued;
        if (this.#paused && queued <= this.#resumeAt) this.#resumeAll();
        yield message;
        continue;
      }
      if (this.#closed) return;
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
      this.#waiter = undefined;
    }
  }

  /**
   * Stops accepting: listeners close, connected clients get their pending bytes read and are
   * ended; `messages()` ends once what was received is consumed. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#slowClientTimer) clearInterval(this.#slowClientTimer);
    if (this.#dropLogTimer) {
      clearTimeout(this.#dropLogTimer);
      if (this.#droppedSinceLog > 0)
        this.#logger.warn(
          { dropped: this.#droppedSinceLog, udpDroppedTotal: this.stats.udpDropped },
          "syslog UDP datagrams dropped: the publish queue is full",
        );
    }
    const closing: Promise<unknown>[] = [];
    if (this.#udp) {
      const udp = this.#udp;
      closing.push(new Promise<void>((resolve) => udp.close(() => resolve())));
    }
    if (this.#tcp) {
      const tcp = this.#tcp;
      closing.push(new Promise<void>((resolve) => tcp.close(() => resolve())));
      for (const [socket, state] of this.#connections) {
        // What a client sent before the close is still delivered: take the partial frame, then end.
        socket.pause();
        for (const frame of state.framer.end()) {
          if (frame.oversized || !isBlank(frame.bytes)) {
            this.stats.received += 1;
            this.stats.receivedTcp += 1;
            this.#queue.push({
              lineNumber: ++this.#sequence,
              bytes: frame.bytes,
              oversized: frame.oversized,
              length: frame.length,
              peer: `tcp://${socket.remoteAddress ?? "unknown"}:${socket.remotePort ?? 0}`,
              peerAddress: socket.remoteAddress ?? "unknown",
              transport: "tcp",
            });
          }
        }
        socket.destroy();
      }
    }
    this.#waiter?.();
    await Promise.all(closing);
  }
}

function isBlank(bytes: Buffer): boolean {
  for (const byte of bytes)
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d && byte !== 0x0a) return false;
  return true;
}
