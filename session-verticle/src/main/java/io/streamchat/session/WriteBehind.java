package io.streamchat.session;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes items behind live work, in order: batches of at most {@code maxBatch}, one batch in
 * flight, a failed batch retried with backoff until it succeeds. Nothing offered is dropped; the
 * caller bounds the queue by refusing new work while it is {@link #full()} (the work already
 * accepted may still add its last items). Single-threaded (the owner's event loop).
 */
final class WriteBehind<T> {

  /** Writes one batch and calls back with null on success or the failure. */
  interface Sink<T> {
    void write(List<T> batch, Consumer<Throwable> done);
  }

  private static final Logger LOG = LoggerFactory.getLogger(WriteBehind.class);
  private static final long MAX_BACKOFF_MS = 5000;

  private final Sink<T> sink;
  private final AppendPipeline.Clock clock;
  private final int maxBatch;
  private final int maxPending;
  private final BiConsumer<Integer, Throwable> onFailure;
  private final ArrayDeque<T> pending = new ArrayDeque<>();
  /** Each waits for pending items of its own, at most for the time it gave. */
  private final List<Waiter<T>> waiters = new ArrayList<>();
  private List<T> inFlight;
  private boolean scheduled;
  private int failures;

  /** @param onFailure told the number of failures in a row and the latest, at each failure */
  WriteBehind(Sink<T> sink, AppendPipeline.Clock clock, int maxBatch, int maxPending,
              BiConsumer<Integer, Throwable> onFailure) {
    this.sink = sink;
    this.clock = clock;
    this.maxBatch = maxBatch;
    this.maxPending = maxPending;
    this.onFailure = onFailure;
  }

  void offer(T item) {
    pending.addLast(item);
    scheduleFlush(0);
  }

  /** {@code maxPending} items or more wait: new work should be refused until they are written. */
  boolean full() {
    return pending.size() >= maxPending;
  }

  /** Whether an item that matches still waits (or is in flight). */
  boolean anyPending(Predicate<T> match) {
    for (T item : pending) {
      if (match.test(item)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Tells {@code then} true once no item that matches is pending (items offered after this call
   * included): at once when none is, else after the batch that writes the last of them; or false
   * after {@code withinMs} when some still are (a sink that keeps failing, or a stream of new ones).
   */
  void whenWritten(Predicate<T> match, long withinMs, Consumer<Boolean> then) {
    if (!anyPending(match)) {
      then.accept(true);
      return;
    }
    Waiter<T> waiter = new Waiter<>(match, then);
    waiters.add(waiter);
    waiter.limit = clock.schedule(withinMs, () -> {
      if (waiters.remove(waiter)) {
        waiter.tell(false);
      }
    });
  }

  /** Compared by identity: each is removed once, by its batch or by its time limit. */
  private static final class Waiter<T> {
    final Predicate<T> match;
    final Consumer<Boolean> then;
    AppendPipeline.Clock.Timer limit;

    Waiter(Predicate<T> match, Consumer<Boolean> then) {
      this.match = match;
      this.then = then;
    }

    void tell(boolean written) {
      try {
        then.accept(written);
      } catch (RuntimeException e) {
        // The others waiting are told all the same.
        LOG.warn("A waiter for written items failed", e);
      }
    }
  }

  /** Items not yet written, the batch in flight included. */
  int pending() {
    return pending.size();
  }

  private void scheduleFlush(long delayMs) {
    if (scheduled || inFlight != null) {
      return;
    }
    scheduled = true;
    clock.schedule(delayMs, () -> {
      scheduled = false;
      flush();
    });
  }

  private void releaseWaiters() {
    List<Waiter<T>> ready = new ArrayList<>();
    waiters.removeIf(waiter -> !anyPending(waiter.match) && ready.add(waiter));
    for (Waiter<T> waiter : ready) {
      waiter.limit.cancel();
      waiter.tell(true);
    }
  }

  private void flush() {
    if (inFlight != null || pending.isEmpty()) {
      return;
    }
    List<T> batch = new ArrayList<>(Math.min(maxBatch, pending.size()));
    for (T item : pending) {
      if (batch.size() == maxBatch) {
        break;
      }
      batch.add(item);
    }
    inFlight = batch;
    sink.write(batch, failure -> {
      inFlight = null;
      if (failure == null) {
        failures = 0;
        for (int i = 0; i < batch.size(); i++) {
          pending.pollFirst();
        }
        scheduleFlush(0);
        releaseWaiters();
      } else {
        failures++;
        onFailure.accept(failures, failure);
        scheduleFlush(Math.min(MAX_BACKOFF_MS, 50L << Math.min(10, failures)));
      }
    });
  }
}
