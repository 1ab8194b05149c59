package io.streamchat.session;

/**
 * One warning per interval for a failure that repeats many times a second (clients retrying, a
 * batch retried): the others are counted, not logged. Used on one event loop.
 */
final class WarningThrottle {

  private final long everyMs;
  private long lastWarningMs = Long.MIN_VALUE;
  private long unreported;

  WarningThrottle(long everyMs) {
    this.everyMs = everyMs;
  }

  /** How many failures went unreported since the last warning when one is due now; -1 when it is not. */
  long warnNow(long nowMs) {
    if (lastWarningMs != Long.MIN_VALUE && nowMs - lastWarningMs < everyMs) {
      unreported++;
      return -1;
    }
    long skipped = unreported;
    lastWarningMs = nowMs;
    unreported = 0;
    return skipped;
  }
}
