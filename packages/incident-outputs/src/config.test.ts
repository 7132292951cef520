import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadOutputsConfig, OutputsConfigError, parseOutputsConfig } from "./config.ts";
import { httpReceiver, sampleDelivery, sampleIncident } from "./testing/receivers.ts";

const env = {
  VIGIL_WEBHOOK_SECRET: "webhook-secret-value",
  VIGIL_SLACK_URL: "https://hooks.slack.example/services/T000/B000/token-value",
  VIGIL_HIVE_KEY: "hive-key-value",
  VIGIL_SMTP_PASSWORD: "smtp-password-value",
};

const full = `
console_url: https://console.example/incidents/{id}
retry:
  attempts: 5
  initial_delay_ms: 200
  max_delay_ms: 30000
queue_capacity: 500
outputs:
  - type: webhook
    name: soar
    url: https://soar.example/vigil
    secret_env: VIGIL_WEBHOOK_SECRET
    timeout_ms: 5000
  - type: slack
    url_env: VIGIL_SLACK_URL
    events: [created, escalated]
  - type: email
    host: smtp.example
    user: vigil
    password_env: VIGIL_SMTP_PASSWORD
    from: vigil@soc.example
    to: [soc@corp.example]
  - type: thehive
    base_url: https://thehive.example:9000
    api_key_env: VIGIL_HIVE_KEY
    tlp: 3
  - type: jsonl
    path: /var/lib/vigil/incidents.jsonl
`;

function problemsOf(text: string, environment: Record<string, string> = env): string[] {
  try {
    parseOutputsConfig(text, "outputs.yaml", { env: environment });
  } catch (error) {
    expect(error).toBeInstanceOf(OutputsConfigError);
    return (error as OutputsConfigError).message
      .split("\n")
      .slice(1)
      .map((line) => line.trim());
  }
  throw new Error("expected the configuration to be refused");
}

describe("outputs configuration", () => {
  it("builds every output type, the retry policy and a summary without secrets", () => {
    const loaded = parseOutputsConfig(full, "outputs.yaml", { env });
    expect(loaded.outputs.map((output) => output.name)).toEqual([
      "soar",
      "slack",
      "email",
      "thehive",
      "jsonl",
    ]);
    expect(loaded.retry).toEqual({ attempts: 5, initialDelayMs: 200, maxDelayMs: 30_000 });
    expect(loaded.queueCapacity).toBe(500);
    expect(loaded.summary).toEqual([
      { name: "soar", type: "webhook", target: "https://soar.example" },
      { name: "slack", type: "slack", target: "https://hooks.slack.example" },
      { name: "email", type: "email", target: "smtp://smtp.example:587" },
      { name: "thehive", type: "thehive", target: "https://thehive.example:9000" },
      { name: "jsonl", type: "jsonl", target: "/var/lib/vigil/incidents.jsonl" },
    ]);
    const printed = JSON.stringify(loaded.summary);
    for (const secret of Object.values(env)) expect(printed).not.toContain(secret);
  });

  it("names file, line, column and key for every problem, without echoing secret values", () => {
    const text = [
      "outputs:", //  1
      "  - type: webhook", // 2
      "    url: ftp://nope", // 3
      "    secret_env: MISSING_SECRET", // 4
      "  - type: slack", // 5
      "    url_env: VIGIL_SLACK_URL", // 6
      "    colour: red", // 7
      "  - type: thehive", // 8
      "    base_url: https://thehive.example", // 9
      "    api_key_env: VIGIL_HIVE_KEY", // 10
      "    tlp: 9", // 11
      "  - type: pager", // 12
    ].join("\n");
    expect(problemsOf(text)).toEqual([
      "outputs.yaml:3:10: outputs[0].url: an http(s) URL",
      "outputs.yaml:7:5: outputs[1]: unexpected field colour",
      "outputs.yaml:11:10: outputs[2].tlp: Too big: expected number to be <=4",
      "outputs.yaml:12:11: outputs[3].type: Invalid discriminator value. Expected 'webhook' | 'slack' | 'email' | 'thehive' | 'jsonl'",
    ]);
  });

  it("reports a missing environment variable at the key naming it, and duplicate names", () => {
    const text = [
      "outputs:",
      "  - type: webhook",
      "    url: https://a.example",
      "    secret_env: MISSING_SECRET",
      "  - type: jsonl",
      "    name: webhook",
      "    path: /tmp/x.jsonl",
    ].join("\n");
    expect(problemsOf(text)).toEqual([
      "outputs.yaml:4:17: outputs[0].secret_env: environment variable MISSING_SECRET is not set",
      "outputs.yaml:6:11: outputs[1].name: a second output named webhook: give each a distinct name",
    ]);
    const slackUrl = ["outputs:", "  - type: slack", "    url_env: VIGIL_SLACK_URL"].join("\n");
    const [problem] = problemsOf(slackUrl, { VIGIL_SLACK_URL: "not a url token-value" });
    expect(problem).toBe(
      "outputs.yaml:3:14: outputs[0].url_env: environment variable VIGIL_SLACK_URL is not an http(s) URL",
    );
    expect(problem).not.toContain("token-value");
  });

  it("refuses invalid YAML and duplicate keys with their position", () => {
    expect(problemsOf("outputs:\n  - type: jsonl\n    path: a\n    path: b\n")[0]).toMatch(
      /^outputs\.yaml:4:5: \(document\): /,
    );
  });

  it("loads from a file, applies --console-url, and filters event types", async () => {
    const directory = await mkdtemp(join(tmpdir(), "vigil-outputs-config-"));
    const server = await httpReceiver(() => ({ status: 200, body: "ok" }));
    try {
      const path = join(directory, "outputs.yaml");
      await writeFile(
        path,
        [
          "outputs:",
          "  - type: slack",
          `    url: ${server.url}/hook`,
          "    events: [escalated]",
          "  - type: jsonl",
          `    path: ${join(directory, "out.jsonl")}`,
        ].join("\n"),
      );
      const loaded = await loadOutputsConfig(path, { env: {}, consoleUrl: "https://c.example/i/{id}" });
      const [slack, jsonl] = loaded.outputs;
      await slack?.deliver(sampleDelivery("k1"));
      await slack?.deliver(sampleDelivery("k2", sampleIncident(), { type: "escalated", level: 2 }));
      await jsonl?.deliver(sampleDelivery("k1"));
      await jsonl?.close?.();
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]?.body).toContain("https://c.example/i/inc-7f3a9c");
      expect(JSON.parse(await readFile(join(directory, "out.jsonl"), "utf8")).key).toBe("k1");
    } finally {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
