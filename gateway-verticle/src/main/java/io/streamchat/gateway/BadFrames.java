package io.streamchat.gateway;

/**
 * The bad frames a socket may send: more than {@code max} within a minute of the first of them
 * closes it, while a few now and then over a long-lived socket never do.
 */
final class BadFrames {

  static final long WINDOW_MS = 60_000;

  private final int max;
  private int count;
  private long windowStartMs;

  BadFrames(int max) {
    this.max = max;
  }

  /** Counts a bad frame sent at {@code nowMs}; whether the socket has now sent too many. */
  boolean tooMany(long nowMs) {
    if (count == 0 || nowMs - windowStartMs > WINDOW_MS) {
      count = 0;
      windowStartMs = nowMs;
    }
    return ++count > max;
  }
}
