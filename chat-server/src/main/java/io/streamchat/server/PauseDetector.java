package io.streamchat.server;

import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;

/**
 * Notices that the whole process stood still (SIGSTOP, a frozen VM, a stop-the-world pause) for
 * longer than a threshold: a thread that sleeps in short steps sees its clock jump. Reports each
 * such pause once, with its length in milliseconds.
 */
final class PauseDetector implements AutoCloseable {

  private static final long STEP_MS = 200;

  private final Thread thread;
  private volatile boolean running = true;

  PauseDetector(long thresholdMs, LongConsumer onPause) {
    thread = new Thread(() -> watch(thresholdMs, onPause), "pause-detector");
    thread.setDaemon(true);
    thread.start();
  }

  private void watch(long thresholdMs, LongConsumer onPause) {
    long last = System.nanoTime();
    while (running) {
      try {
        Thread.sleep(STEP_MS);
      } catch (InterruptedException e) {
        return;
      }
      long now = System.nanoTime();
      long stoodStillMs = TimeUnit.NANOSECONDS.toMillis(now - last) - STEP_MS;
      last = now;
      if (stoodStillMs > thresholdMs && running) {
        onPause.accept(stoodStillMs);
      }
    }
  }

  @Override
  public void close() {
    running = false;
    thread.interrupt();
  }
}
