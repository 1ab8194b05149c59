package io.streamchat.session;

import io.streamchat.protocol.CacheCommand.Append;
import io.streamchat.protocol.CacheCommand.AppendOutcome;
import io.streamchat.protocol.CacheCommand.AppendResult;
import io.streamchat.protocol.CacheCommand.StoredEvent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * Stores the new events of the sessions of one verticle, behind live delivery. A session with
 * events to store is marked; one batch at a time carries the events of every marked session (up
 * to a bound) to storage in a single request, so that many sessions share one Redis round trip.
 * Each session's outcome comes back on its own: stored up to a seq, fenced (a newer owner holds
 * the session), or failed, in which case the session's events are tried again, in order, after a
 * backoff, while the others go on.
 */
final class AppendPipeline {

  /** A session's log as the pipeline sees it. */
  interface Log {
    String sessionId();

    long fence();

    String userId();

    /** The oldest events not stored yet, at most {@code max}. */
    List<StoredEvent> unstored(int max);

    boolean hasUnstored();

    /** Storage has every event up to {@code seq}. */
    void stored(long seq);

    /** Storage refused the log's fencing token: the session is owned elsewhere now. */
    void fenced();
  }

  /** Carries one batch: one result per append, in order, or a failure for the whole batch. */
  interface Storage {
    void append(List<Append> batch, BiConsumer<List<AppendResult>, Throwable> done);
  }

  /** Time, and running a task later on the pipeline's own thread ({@code 0}: as soon as possible). */
  interface Clock {
    long nowMs();

    Timer schedule(long delayMs, Runnable task);

    /** A task scheduled: cancelled, it does not run (if it has not yet). */
    interface Timer {
      void cancel();
    }
  }

  /** Reports a session whose appends started failing (once per run of failures). */
  interface FailureListener {
    void appendFailed(String sessionId, Throwable failure);
  }

  private static final long MAX_BACKOFF_MS = 2000;

  private final Storage storage;
  private final Clock clock;
  private final FailureListener failures;
  private final int maxBatchEvents;
  private final long lingerMs;
  private final Set<Log> marked = new LinkedHashSet<>();
  private final Map<Log, Retry> retries = new HashMap<>();
  /** The logs of the batch in flight; a log forgotten meanwhile is removed, and its result ignored. */
  private final Set<Log> inFlight = new java.util.HashSet<>();
  private boolean batchInFlight;
  /** When the next flush is due; {@code Long.MAX_VALUE} when none is scheduled. */
  private long flushDueMs = Long.MAX_VALUE;

  private static final class Retry {
    int failures;
    long atMs;
  }

  AppendPipeline(Storage storage, Clock clock, FailureListener failures, int maxBatchEvents, long lingerMs) {
    this.storage = storage;
    this.clock = clock;
    this.failures = failures;
    this.maxBatchEvents = maxBatchEvents;
    this.lingerMs = lingerMs;
  }

  /** The log has new events to store. */
  void mark(Log log) {
    marked.add(log);
    scheduleFlush(lingerMs);
  }

  /** The log left this verticle: nothing more of it is stored from here. */
  void forget(Log log) {
    marked.remove(log);
    retries.remove(log);
    inFlight.remove(log);
  }

  /** Sessions whose appends are failing now. */
  int failing() {
    return retries.size();
  }

  /** A flush sooner than the one scheduled (a retry's backoff) goes ahead of it; a later one waits for it. */
  private void scheduleFlush(long delayMs) {
    long dueMs = clock.nowMs() + Math.max(0, delayMs);
    if (!batchInFlight && dueMs < flushDueMs) {
      flushDueMs = dueMs;
      clock.schedule(delayMs, this::flush);
    }
  }

  private void flush() {
    if (batchInFlight || clock.nowMs() < flushDueMs) {
      // Overtaken by a sooner flush, or a batch is in flight: its reply schedules the next one.
      return;
    }
    flushDueMs = Long.MAX_VALUE;
    long now = clock.nowMs();
    long nextRetryMs = Long.MAX_VALUE;
    List<Log> logs = new ArrayList<>();
    List<Append> batch = new ArrayList<>();
    int events = 0;
    for (Iterator<Log> it = marked.iterator(); it.hasNext() && events < maxBatchEvents; ) {
      Log log = it.next();
      Retry retry = retries.get(log);
      if (retry != null && retry.atMs > now) {
        nextRetryMs = Math.min(nextRetryMs, retry.atMs);
        continue;
      }
      it.remove();
      List<StoredEvent> unstored = log.unstored(maxBatchEvents - events);
      if (!unstored.isEmpty()) {
        logs.add(log);
        batch.add(new Append(log.sessionId(), log.fence(), log.userId(), unstored));
        events += unstored.size();
      }
    }
    if (batch.isEmpty()) {
      if (nextRetryMs != Long.MAX_VALUE) {
        scheduleFlush(nextRetryMs - now);
      }
      return;
    }
    batchInFlight = true;
    inFlight.addAll(logs);
    storage.append(batch, (results, failure) -> {
      batchInFlight = false;
      for (int i = 0; i < logs.size(); i++) {
        Log log = logs.get(i);
        if (!inFlight.remove(log)) {
          continue;
        }
        if (failure != null) {
          failed(log, failure);
        } else if (results.get(i).outcome() == AppendOutcome.FENCED) {
          forget(log);
          log.fenced();
          continue;
        } else {
          retries.remove(log);
          log.stored(results.get(i).storedSeq());
        }
        if (log.hasUnstored()) {
          marked.add(log);
        }
      }
      if (!marked.isEmpty()) {
        scheduleFlush(lingerMs);
      }
    });
  }

  private void failed(Log log, Throwable failure) {
    Retry retry = retries.computeIfAbsent(log, l -> new Retry());
    if (retry.failures++ == 0) {
      failures.appendFailed(log.sessionId(), failure);
    }
    retry.atMs = clock.nowMs() + Math.min(MAX_BACKOFF_MS, 50L << Math.min(6, retry.failures));
  }
}
