import { silentLogger } from "@vigil/observability";
import { afterEach, describe, expect, it } from "vitest";
import { createEmbeddedTransport, EmbeddedBroker } from "./embedded.ts";
import { followGlobalTable, type GlobalTable } from "./table.ts";
import type { Transport } from "./transport.ts";

async function eventually(probe: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !probe(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(probe()).toBe(true);
}

describe("followGlobalTable", () => {
  let transport: Transport;
  let table: GlobalTable | undefined;

  afterEach(async () => {
    await table?.stop();
    await transport.close();
  });

  async function setup() {
    transport = createEmbeddedTransport({ broker: new EmbeddedBroker() });
    await transport.createTopics([
      { name: "hosts", partitions: 3 },
      { name: "docs", partitions: 1 },
    ]);
  }

  it("is ready only once every record present at start is applied, then follows live records", async () => {
    await setup();
    await transport.send(
      "hosts",
      Array.from({ length: 20 }, (_, i) => ({ key: `h${i % 7}`, value: JSON.stringify({ n: i }) })),
    );
    await transport.send("docs", [{ key: "baselines/windows", value: "v1" }]);
    const state = new Map<string, string | null>();
    let readyWith = -1;
    table = await followGlobalTable({
      transport,
      topics: ["hosts", "docs"],
      groupPrefix: "test.tables",
      logger: silentLogger(),
      apply: (message) => {
        if (String(message.value).includes('"n":13')) throw new Error("a bad record");
        state.set(`${message.topic}:${String(message.key)}`, message.value && String(message.value));
      },
    });
    await table.ready.then(() => {
      readyWith = state.size;
    });
    // 7 host keys (the bad record's key is still set by its other records) + 1 document.
    expect(readyWith).toBe(8);
    expect(state.get("docs:baselines/windows")).toBe("v1");
    expect(state.get("hosts:h5")).toBe(JSON.stringify({ n: 19 }));

    await transport.send("docs", [{ key: "baselines/windows", value: null }]);
    await eventually(() => state.get("docs:baselines/windows") === null);
  });

  it("is ready at once over empty topics", async () => {
    await setup();
    table = await followGlobalTable({
      transport,
      topics: ["hosts", "docs"],
      groupPrefix: "test.tables",
      logger: silentLogger(),
      apply: () => {},
    });
    await expect(table.ready).resolves.toBeUndefined();
  });

  it("gives each follower every partition, even with the same group prefix", async () => {
    await setup();
    await transport.send(
      "hosts",
      Array.from({ length: 9 }, (_, i) => ({ key: `h${i}`, value: "x" })),
    );
    const counts = [0, 0];
    const tables = await Promise.all(
      counts.map((_, index) =>
        followGlobalTable({
          transport,
          topics: ["hosts"],
          groupPrefix: "test.tables",
          logger: silentLogger(),
          apply: () => {
            counts[index] = (counts[index] ?? 0) + 1;
          },
        }),
      ),
    );
    await Promise.all(tables.map((t) => t.ready));
    expect(counts).toEqual([9, 9]);
    await Promise.all(tables.map((t) => t.stop()));
  });
});
