import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { ConfigError, commonOptions, defineCli } from "@vigil/config";
import { ReferenceTableSet } from "@vigil/rules";
import { type ReferenceDocumentV1, ReferenceKind, referenceKey, topicName, topics } from "@vigil/schema";
import {
  createKafkaTransport,
  encodeValue,
  type KafkaSecurity,
  KafkaSecurityConfigError,
  kafkaSecurityFromEnv,
  type OutgoingMessage,
} from "@vigil/stream";
import { z } from "zod";

export const referenceCli = defineCli({
  name: "vigil reference",
  version: "0.1.0",
  summary:
    "publishes reference documents (baselines, priority lists, exceptions) to vigil.reference, after validating them",
  usage: "vigil reference publish --kind KIND FILE... | vigil reference withdraw --kind KIND NAME...",
  options: {
    ...commonOptions,
    kind: {
      flag: "kind",
      type: "string",
      description: `What the files are: ${ReferenceKind.options.join(", ")}`,
      schema: ReferenceKind,
    },
    dryRun: {
      flag: "dry-run",
      type: "boolean",
      description: "Validate and print what would be published (JSON lines); publish nothing, need no Kafka",
      schema: z.boolean().default(false),
    },
  },
  epilog: `A document's name is its file name without extension; publishing it again replaces it in every rules
engine within seconds (the topic is compacted and followed live); withdraw removes it (a tombstone).
Exit codes: 0 done, 1 Kafka failure, 2 invalid document or usage.`,
});

interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  now?: () => Date;
  /** Where KAFKA_BROKERS and the other variables come from (default: the process's). */
  env?: NodeJS.ProcessEnv;
}

/** `vigil reference publish|withdraw`: the way reference data reaches every rules engine. */
export async function referenceCommand(argv: string[], io: Io): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === "--help" || action === "-h") {
    io.stdout.write(referenceCli.help());
    return action === undefined ? 2 : 0;
  }
  if (action !== "publish" && action !== "withdraw") {
    io.stderr.write(`vigil reference: unknown action '${action}' (expected publish or withdraw)\n`);
    return 2;
  }
  let parsed: ReturnType<typeof referenceCli.parse>;
  try {
    parsed = referenceCli.parse(rest, io.env ?? process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const { values, positionals } = parsed;
  if (positionals.length === 0) {
    io.stderr.write(
      `vigil reference ${action}: name at least one ${action === "publish" ? "file" : "document"}\n`,
    );
    return 2;
  }
  const kind = values.kind;
  const messages: OutgoingMessage[] = [];
  if (action === "publish") {
    // All of them in one table first: a document that conflicts with another is caught here.
    const check = new ReferenceTableSet();
    const time = (io.now?.() ?? new Date()).toISOString();
    for (const file of positionals) {
      let content: string;
      try {
        content = await readFile(file, "utf8");
      } catch (error) {
        io.stderr.write(`vigil reference: cannot read ${file}: ${(error as Error).message}\n`);
        return 2;
      }
      const document: ReferenceDocumentV1 = {
        schema: "vigil.reference/v1",
        kind,
        name: path.basename(file).replace(/\.(ya?ml|json)$/i, ""),
        time,
        origin: path.resolve(file),
        sha256: createHash("sha256").update(content).digest("hex"),
        content,
      };
      try {
        check.setDocument(document);
      } catch (error) {
        io.stderr.write(`vigil reference: ${(error as Error).message}\n`);
        return 2;
      }
      if (values.dryRun) io.stdout.write(`${JSON.stringify(document)}\n`);
      messages.push(
        encodeValue(topics.reference, document, { key: referenceKey(document), source: "vigil/cli" }),
      );
    }
  } else {
    for (const name of positionals) {
      messages.push({ key: referenceKey({ kind, name }), value: null });
      if (values.dryRun) io.stdout.write(`${JSON.stringify({ withdraw: referenceKey({ kind, name }) })}\n`);
    }
  }
  if (values.dryRun) return 0;
  if (!values.brokers) {
    io.stderr.write("vigil reference: no Kafka brokers: set --brokers or KAFKA_BROKERS (or use --dry-run)\n");
    return 2;
  }
  let security: KafkaSecurity;
  try {
    security = kafkaSecurityFromEnv(io.env ?? process.env);
  } catch (error) {
    if (!(error instanceof KafkaSecurityConfigError)) throw error;
    io.stderr.write(`vigil reference: ${error.message}\n`);
    return 2;
  }
  const transport = createKafkaTransport({
    brokers: values.brokers,
    clientId: values.clientId ?? "vigil-cli",
    security,
  });
  try {
    await transport.send(topicName(topics.reference, values.topicPrefix), messages);
  } catch (error) {
    io.stderr.write(`vigil reference: publishing failed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await transport.close();
  }
  io.stderr.write(
    `vigil reference: ${action === "publish" ? "published" : "withdrew"} ${messages.length} ${kind} document(s) on ${topicName(topics.reference, values.topicPrefix)}\n`,
  );
  return 0;
}
