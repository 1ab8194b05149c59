package io.streamchat.protocol;

import java.time.Instant;

/** Wall-clock time in microseconds, comparable between the nodes of a cluster as far as their clocks agree. */
public final class WallClock {

  private WallClock() {
  }

  public static long micros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
  }
}
