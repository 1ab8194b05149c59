package io.streamchat.protocol;

import java.util.Locale;

/** The status of an assistant answer (and of every user message: {@link #COMPLETED}), as {@code complete.status} and history show it. */
public enum AnswerStatus {
  STREAMING, COMPLETED, CANCELLED, FAILED, INTERRUPTED;

  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static AnswerStatus fromWire(String wire) {
    return valueOf(wire.toUpperCase(Locale.ROOT));
  }
}
