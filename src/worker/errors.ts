// How a failed attempt is classified: a code users see in
// conversation_events.error_code, and whether retrying can help.
import type { EventErrorCode } from "../domain.js";
import { EmbeddingError } from "../embed/embedder.js";

export class ProcessingError extends Error {
  override name = "ProcessingError";
  constructor(readonly code: EventErrorCode, message: string, readonly retryable: boolean) {
    super(message);
  }
}

export function classifyFailure(error: unknown): { code: EventErrorCode; details: string; retryable: boolean } {
  const details = (error instanceof Error ? error.message : String(error)).slice(0, 2000);
  if (error instanceof ProcessingError) return { code: error.code, details, retryable: error.retryable };
  if (error instanceof EmbeddingError) return { code: error.code, details, retryable: error.retryable };
  return { code: "processing_error", details, retryable: true };
}
