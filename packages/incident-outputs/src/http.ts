import { DeliveryError } from "./delivery.ts";

export interface HttpResponse {
  status: number;
  body: string;
}

/**
 * POSTs a body and classifies the outcome: 2xx resolves; 408, 429, 5xx, timeouts and network
 * errors are retryable; any other status is permanent. Messages never carry the URL or headers,
 * which can hold secrets (Slack's URL is its token).
 */
export async function post(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  accept: (response: HttpResponse) => boolean = (response) => response.status >= 200 && response.status < 300,
): Promise<HttpResponse> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    throw new DeliveryError(
      timedOut ? `no answer within ${timeoutMs} ms` : `request failed: ${causeText(error)}`,
      {
        retryable: true,
        cause: error,
      },
    );
  }
  const result = { status: response.status, body: text };
  if (accept(result)) return result;
  const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
  throw new DeliveryError(`HTTP ${response.status}: ${text.slice(0, 200)}`, {
    retryable,
    status: response.status,
  });
}

function causeText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error)
    return `${error.message} (${(cause as NodeJS.ErrnoException).code ?? cause.message})`;
  return error.message;
}
