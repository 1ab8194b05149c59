package io.streamchat.protocol;

import java.time.Instant;

/**
 * Wall-clock time in microseconds, comparable between the nodes of a cluster as far as their clocks
 * agreed when each started: read once, then carried on by {@link System#nanoTime()}, which costs a
 * fraction of {@link Instant#now()} on the token path.
 */
public final class WallClock {

  private static final long START_NANOS = System.nanoTime();
  private static final long START_MICROS = epochMicros(Instant.now());

  private WallClock() {
  }

  public static long micros() {
    return START_MICROS + (System.nanoTime() - START_NANOS) / 1_000;
  }

  private static long epochMicros(Instant instant) {
    return instant.getEpochSecond() * 1_000_000 + instant.getNano() / 1_000;
  }
}
