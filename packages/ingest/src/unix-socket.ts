import { lstat, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { type Line, readLines } from "./lines.ts";

export interface UnixSocketOptions {
  /** The socket path Suricata's EVE output (`filetype: unix_stream`, `filename: <path>`) connects to. */
  path: string;
  maxLineBytes: number;
  oversizedKeepBytes?: number;
  /** Connections accepted at once (default 4); Suricata holds one, and reconnects after an error. */
  maxConnections?: number;
  /** A connection that sends nothing for this long is closed (default 0: never; Suricata may be quiet for hours). */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  onEvent?: (event: {
    kind: "listening" | "connected" | "disconnected";
    path: string;
    connection?: number;
  }) => void;
}

/** A line from a socket connection: numbered per connection. */
export interface SocketLine extends Line {
  connection: number;
}

/**
 * Listens on a unix stream socket and yields the lines of each connection, one connection after
 * the other (a second connection waits, unread, until the first ends). Nothing is read ahead of
 * the consumer: while a send is pending the socket is not read, its buffer fills, and the writer
 * blocks, so memory stays bounded by the stream's high-water mark plus `maxLineBytes`.
 * A stale socket file left by a crash is removed; any other file at the path is refused.
 * Ends when `signal` aborts (the server closes and the socket file is removed).
 */
export async function* listenUnixSocket(options: UnixSocketOptions): AsyncGenerator<SocketLine> {
  const { path, signal } = options;
  try {
    const existing = await lstat(path);
    if (!existing.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
    await rm(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }

  const waiting: Socket[] = [];
  let wake: (() => void) | undefined;
  let connections = 0;
  const server: Server = createServer({ pauseOnConnect: true }, (socket) => {
    connections += 1;
    (socket as Socket & { vigilConnection?: number }).vigilConnection = connections;
    if (options.idleTimeoutMs) socket.setTimeout(options.idleTimeoutMs, () => socket.destroy());
    waiting.push(socket);
    wake?.();
  });
  server.maxConnections = options.maxConnections ?? 4;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
  options.onEvent?.({ kind: "listening", path });
  const onAbort = () => {
    wake?.();
    for (const socket of waiting) socket.destroy();
  };
  signal?.addEventListener("abort", onAbort, { once: true });

  try {
    while (!signal?.aborted) {
      const socket = waiting.shift();
      if (socket === undefined) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        continue;
      }
      const connection = (socket as Socket & { vigilConnection?: number }).vigilConnection ?? 0;
      options.onEvent?.({ kind: "connected", path, connection });
      try {
        for await (const line of readLines(socket, {
          maxLineBytes: options.maxLineBytes,
          ...(options.oversizedKeepBytes !== undefined
            ? { oversizedKeepBytes: options.oversizedKeepBytes }
            : {}),
          ...(signal ? { signal } : {}),
        })) {
          yield { ...line, connection };
        }
      } catch (error) {
        // A connection reset ends that connection, not the listener.
        if (
          !["ECONNRESET", "EPIPE", "ERR_STREAM_PREMATURE_CLOSE"].includes(
            (error as NodeJS.ErrnoException).code ?? "",
          )
        )
          throw error;
      } finally {
        socket.destroy();
        options.onEvent?.({ kind: "disconnected", path, connection });
      }
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    for (const socket of waiting) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(path, { force: true });
  }
}
