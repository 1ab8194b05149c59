package io.streamchat.protocol;

import java.util.Locale;

/** {@code recovery_status.status}, and the status of an HTTP recovery. */
public enum RecoveryStatus {
  /** The events after the cursor follow (or: the message still streams). */
  RECOVERED,
  /** The cursor cannot be served: a {@code history} follows. */
  RESET,
  /** The message has ended. */
  COMPLETE,
  NOT_FOUND;

  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }
}
