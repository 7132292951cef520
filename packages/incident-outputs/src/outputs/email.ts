import { createTransport } from "nodemailer";
import { type Delivery, DeliveryError, type IncidentOutput } from "../delivery.ts";
import { emailContent, headerSafeKey, incidentView, messageIdFor, singleLine } from "../payload.ts";

export interface EmailOutputOptions {
  name?: string;
  host: string;
  port: number;
  /** Implicit TLS (port 465). Otherwise STARTTLS is used when the server offers it. */
  secure?: boolean;
  /** Refuse to send unless STARTTLS succeeds. */
  requireTls?: boolean;
  user?: string;
  /** Never logged. */
  password?: string;
  from: string;
  to: string[];
  /** Right-hand side of the Message-ID; default the `from` address's domain. */
  messageIdDomain?: string;
  consoleUrl?: string;
  timeoutMs?: number;
}

/**
 * One mail per delivery, plain text + HTML, over SMTP. The Message-ID is derived from the
 * idempotency key, so a resent delivery is recognisably the same message.
 */
export function emailOutput(options: EmailOutputOptions): IncidentOutput {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const transport = createTransport({
    host: options.host,
    port: options.port,
    secure: options.secure ?? false,
    requireTLS: options.requireTls ?? false,
    ...(options.user !== undefined
      ? {
          auth: { user: options.user, ...(options.password !== undefined ? { pass: options.password } : {}) },
        }
      : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const domain =
    options.messageIdDomain ??
    options.from
      .split("@")
      .pop()
      ?.replace(/[^A-Za-z0-9.-]/g, "") ??
    "vigil";
  return {
    name: options.name ?? "email",
    async deliver(delivery: Delivery): Promise<void> {
      const content = emailContent(incidentView(delivery), options.consoleUrl);
      try {
        await transport.sendMail({
          from: options.from,
          to: options.to,
          subject: singleLine(content.subject),
          text: content.text,
          html: content.html,
          messageId: messageIdFor(delivery.key, domain || "vigil"),
          headers: { "X-Vigil-Idempotency-Key": headerSafeKey(delivery.key) },
        });
      } catch (error) {
        throw classifySmtpError(error);
      }
    },
    async close(): Promise<void> {
      transport.close();
    },
  };
}

/** SMTP 5xx is permanent (bad recipient, refused content); 4xx and connection problems are retryable. */
function classifySmtpError(error: unknown): DeliveryError {
  const details = error as { responseCode?: number; code?: string; message?: string };
  const code = typeof details.responseCode === "number" ? details.responseCode : undefined;
  // With an SMTP reply its class decides; without one, a refused envelope or login will not heal by itself.
  const permanent =
    code !== undefined ? code >= 500 : details.code === "EENVELOPE" || details.code === "EAUTH";
  return new DeliveryError(
    `SMTP ${code ?? details.code ?? "error"}: ${String(details.message ?? error).slice(0, 200)}`,
    {
      retryable: !permanent,
      ...(code !== undefined ? { status: code } : {}),
      cause: error,
    },
  );
}
