import type { Logger } from "@vigil/observability";

/**
 * Stops cleanly on SIGTERM / SIGINT: runs `stop` once (finish the in-flight batch, commit,
 * leave the group, disconnect) and lets the process exit by itself. A second signal, or
 * `stop` outliving `timeoutMs`, exits at once with a non-zero code. Once stopped, a handle some
 * library left open (a socket, a timer) may not keep the process alive past `exitGraceMs`: an
 * orchestrator would otherwise wait for its kill timeout and count a clean stop as a failure.
 */
export function onShutdown(
  logger: Logger,
  stop: () => Promise<void>,
  options: { timeoutMs?: number; exitGraceMs?: number; signals?: NodeJS.Signals[] } = {},
): () => void {
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting without waiting");
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, "shutting down: finishing in-flight work");
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: options.timeoutMs ?? 30_000 }, "shutdown timed out; exiting");
      process.exit(1);
    }, options.timeoutMs ?? 30_000);
    timer.unref();
    stop().then(
      () => {
        clearTimeout(timer);
        logger.info("stopped cleanly");
        for (const sig of signals) process.off(sig, handler);
        // Unref'd: fires only if something else still holds the process open.
        setTimeout(() => {
          logger.warn(
            { exitGraceMs: options.exitGraceMs ?? 5_000 },
            "handles still open after stopping; exiting",
          );
          process.exit();
        }, options.exitGraceMs ?? 5_000).unref();
      },
      (error: unknown) => {
        clearTimeout(timer);
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
