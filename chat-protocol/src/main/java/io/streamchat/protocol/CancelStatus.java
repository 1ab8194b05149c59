package io.streamchat.protocol;

import java.util.Locale;

/** {@code cancel_ack.status}. */
public enum CancelStatus {
  CANCELLING, ALREADY_CANCELLED, ALREADY_COMPLETED, NOT_FOUND;

  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }
}
