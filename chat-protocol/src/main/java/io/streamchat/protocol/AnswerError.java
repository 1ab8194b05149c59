package io.streamchat.protocol;

import java.util.Locale;

/** Why an answer ended {@code failed} or {@code interrupted}: {@code complete.error.code}. */
public enum AnswerError {
  /** No AI bridge could be reached, or the provider could not be connected to (after retries). */
  PROVIDER_UNAVAILABLE,
  /** The provider answered 4xx other than 429: bad key, unknown model, bad request. Not retried. */
  PROVIDER_REJECTED,
  /** The provider answered 5xx or 429 (after retries), reported an error, or broke the stream. */
  PROVIDER_ERROR,
  /** The provider sent nothing for CHAT_AI_STALL_TIMEOUT_MS. */
  STALLED,
  /** The session's owner heard nothing from the generator for CHAT_GENERATOR_TIMEOUT_MS. */
  GENERATOR_LOST;

  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }
}
