package io.streamchat.session;

import io.streamchat.protocol.AuditCommand.AuditRecord;
import io.streamchat.protocol.AuditCommand.Reconcile;
import io.streamchat.protocol.AuditCommand.Reconciled;
import io.streamchat.protocol.AuditCommand.Written;
import io.streamchat.protocol.CacheCommand.AuditMark;
import io.streamchat.protocol.CacheCommand.StoredEvent;
import io.streamchat.protocol.JsonText;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Writes the stored events of the sessions of one verticle to the audit log, behind live delivery
 * and behind Redis: only an event Redis holds is written, so that a new owner can always find what
 * is still to be written. One batch of records is in flight at a time (bounded); the events
 * waiting behind it stay in the sessions' logs. A session whose records failed, or that was taken
 * over from an owner that did not hand it off, first reads the topic to learn which of its
 * records are there, and goes on after the newest: each event is in the topic once.
 * Single-threaded (the verticle's event loop).
 */
final class AuditShipper {

  /** A session as the shipper sees it. */
  interface Source {
    String sessionId();

    long fence();

    String userId();

    /** Redis holds every event up to this seq. */
    long storedSeq();

    /** The event from memory, or null when memory no longer holds it. */
    LoggedEvent heldEvent(long seq);

    AuditCursor audit();
  }

  /** The audit verticle of this node. */
  interface Topic {
    void ship(List<AuditRecord> records, BiConsumer<List<Written>, Throwable> done);

    void reconcile(Reconcile request, BiConsumer<Reconciled, Throwable> done);
  }

  /** The session logs in Redis. */
  interface Storage {
    void read(String sessionId, long afterSeq, int max, BiConsumer<List<StoredEvent>, Throwable> done);

    void mark(String sessionId, long fence, AuditMark mark, Consumer<Throwable> done);
  }

  /** What operators are told: records written, failures, events that left Redis before they were written. */
  interface Listener {
    void written(int records);

    void failed(String sessionId, Throwable failure);

    void lost(String sessionId, long fromSeq, long toSeq);

    /** The topic was read: it holds the session's events up to {@code seq}; this owner had {@code known}. */
    void reconciled(String sessionId, long seq, long known);

    /**
     * The process was paused: a session may have a new owner, which must not see records of this
     * one land after it read the topic. Nothing is written until {@link #resume()}, which the
     * listener calls once it dropped the sessions it no longer owns.
     */
    void paused();
  }

  /** No beat for this long: the process was paused, and a session may have a new owner by now. */
  static final long PAUSE_SUSPECTED_MS = 2000;
  private static final long MAX_BACKOFF_MS = 5000;

  private final Topic topic;
  private final Storage storage;
  private final AppendPipeline.Clock clock;
  private final Listener listener;
  private final String nodeId;
  private final boolean chunks;
  private final int maxRecords;
  private final Set<Source> marked = new LinkedHashSet<>();
  private final Set<Source> active = new java.util.HashSet<>();
  private boolean batchInFlight;
  private boolean flushScheduled;
  private long lastBeatMs;
  private boolean held;

  AuditShipper(Topic topic, Storage storage, AppendPipeline.Clock clock, Listener listener, String nodeId,
               boolean chunks, int maxRecords) {
    this.topic = topic;
    this.storage = storage;
    this.clock = clock;
    this.listener = listener;
    this.nodeId = nodeId;
    this.chunks = chunks;
    this.maxRecords = Math.max(1, maxRecords);
    this.lastBeatMs = clock.nowMs();
  }

  /** The session has newly stored events (or was just claimed). */
  void mark(Source source) {
    active.add(source);
    marked.add(source);
    scheduleFlush();
  }

  /** The session left this verticle. */
  void forget(Source source) {
    active.remove(source);
    marked.remove(source);
  }

  /** Called often (every few hundred ms) by the verticle: proof the process runs, and time for waits that ended. */
  void beat() {
    long now = clock.nowMs();
    boolean paused = now - lastBeatMs > PAUSE_SUSPECTED_MS;
    lastBeatMs = now;
    if (paused && !held) {
      held = true;
      listener.paused();
    } else if (!marked.isEmpty()) {
      scheduleFlush();
    }
  }

  /** Writing goes on after a pause: the sessions left are this verticle's own. */
  void resume() {
    held = false;
    scheduleFlush();
  }

  /** Every stored event of the session is in the topic, and nothing about it is in flight. */
  boolean caughtUp(Source source) {
    AuditCursor cursor = source.audit();
    return !cursor.busy && cursor.reconcileAtMs < 0 && cursor.seq >= source.storedSeq();
  }

  /** Sessions whose position moved since it was last written down in Redis (for the next owner). */
  void writeMarks(Iterable<? extends Source> sources) {
    for (Source source : sources) {
      AuditCursor cursor = source.audit();
      if (cursor.seq > cursor.markedSeq && cursor.reconcileAtMs < 0) {
        writeMark(source, false, failure -> { });
      }
    }
  }

  /** Writes the session's position down; {@code exact} when nothing of it is beyond, for a clean hand-off. */
  void writeMark(Source source, boolean exact, Consumer<Throwable> done) {
    AuditCursor cursor = source.audit();
    long seq = cursor.seq;
    long before = cursor.markedSeq;
    cursor.markedSeq = seq;
    storage.mark(source.sessionId(), source.fence(), cursor.mark(exact), failure -> {
      if (failure != null && cursor.markedSeq == seq) {
        cursor.markedSeq = before;
      }
      done.accept(failure);
    });
  }

  private void scheduleFlush() {
    if (flushScheduled || batchInFlight) {
      return;
    }
    flushScheduled = true;
    clock.schedule(0, () -> {
      flushScheduled = false;
      flush();
    });
  }

  private record Part(Source source, long toSeq, int fromRecord, int toRecord) {
  }

  private void flush() {
    if (batchInFlight) {
      return;
    }
    long now = clock.nowMs();
    if (held || now - lastBeatMs > PAUSE_SUSPECTED_MS) {
      // Woken from a pause: nothing is written until the sessions still owned are known (see beat).
      return;
    }
    List<AuditRecord> records = new ArrayList<>();
    List<Part> parts = new ArrayList<>();
    for (Iterator<Source> it = marked.iterator(); it.hasNext() && records.size() < maxRecords; ) {
      Source source = it.next();
      AuditCursor cursor = source.audit();
      if (cursor.waiting(now)) {
        continue;
      }
      if (cursor.reconcileAtMs >= 0) {
        reconcile(source);
        continue;
      }
      long stored = source.storedSeq();
      if (stored <= cursor.seq) {
        it.remove();
        continue;
      }
      int fromRecord = records.size();
      long to = cursor.seq;
      for (long seq = cursor.seq + 1; seq <= stored && records.size() < maxRecords; seq++) {
        LoggedEvent held = source.heldEvent(seq);
        StoredEvent event = held != null ? held.stored() : cursor.fetched(seq);
        if (event == null) {
          break;
        }
        to = seq;
        if (chunks || !LoggedEvent.CHUNK.equals(event.type())) {
          records.add(new AuditRecord(source.sessionId(), seq, event.type(), value(source, cursor, seq, event.json()),
              event.messageJson()));
        }
      }
      if (to == cursor.seq) {
        read(source);
        continue;
      }
      it.remove();
      parts.add(new Part(source, to, fromRecord, records.size()));
    }
    if (parts.isEmpty()) {
      return;
    }
    if (records.isEmpty()) {
      parts.forEach(part -> settled(part, records, List.of(), null));
      scheduleFlush();
      return;
    }
    batchInFlight = true;
    parts.forEach(part -> part.source().audit().busy = true);
    topic.ship(records, (results, failure) -> {
      batchInFlight = false;
      int written = 0;
      for (Part part : parts) {
        part.source().audit().busy = false;
        written += settled(part, records, results, failure);
      }
      listener.written(written);
      scheduleFlush();
    });
  }

  /** Applies the outcome of a part of a batch; returns the records of it that were written. */
  private int settled(Part part, List<AuditRecord> records, List<Written> results, Throwable failure) {
    Source source = part.source();
    AuditCursor cursor = source.audit();
    int written = 0;
    if (failure == null) {
      for (int i = part.fromRecord(); i < part.toRecord() && results.get(i).succeeded(); i++) {
        written++;
        cursor.advance(records.get(i).seq(), results.get(i).offset());
      }
    }
    if (written == part.toRecord() - part.fromRecord()) {
      cursor.advance(part.toSeq(), -1);
    } else {
      // The records after the first failure may be in the topic even so (a lost acknowledgement):
      // read it before going on.
      cursor.failures++;
      cursor.reconcileAtMs = clock.nowMs() + backoff(cursor.failures);
      listener.failed(source.sessionId(), failure != null ? failure : new IllegalStateException("records not written"));
    }
    remark(source);
    return written;
  }

  private void read(Source source) {
    AuditCursor cursor = source.audit();
    cursor.busy = true;
    long after = cursor.seq;
    storage.read(source.sessionId(), after, maxRecords, (events, failure) -> {
      cursor.busy = false;
      if (failure != null) {
        cursor.failures++;
        cursor.retryAtMs = clock.nowMs() + backoff(cursor.failures);
        listener.failed(source.sessionId(), failure);
      } else {
        long stored = source.storedSeq();
        long first = events.isEmpty() ? stored + 1 : events.get(0).seq();
        if (first > after + 1) {
          // Trimmed from the log (more events waited than it keeps) or lost with Redis.
          listener.lost(source.sessionId(), after + 1, first - 1);
          cursor.advance(first - 1, -1);
        }
        cursor.addFetched(events);
      }
      remark(source);
      scheduleFlush();
    });
  }

  private void reconcile(Source source) {
    AuditCursor cursor = source.audit();
    cursor.busy = true;
    Reconcile request = new Reconcile(source.sessionId(), cursor.epochNames(), cursor.offset,
        cursor.offset >= 0 ? -1 : cursor.reconcileFromTimeMs);
    topic.reconcile(request, (found, failure) -> {
      cursor.busy = false;
      if (failure != null) {
        cursor.failures++;
        cursor.reconcileAtMs = clock.nowMs() + backoff(cursor.failures);
        listener.failed(source.sessionId(), failure);
      } else {
        cursor.reconcileAtMs = -1;
        listener.reconciled(source.sessionId(), Math.max(found.lastSeq(), cursor.seq), cursor.seq);
        if (found.lastSeq() >= cursor.seq && found.offset() >= 0) {
          cursor.advance(found.lastSeq(), found.offset());
        }
        cursor.failures = 0;
      }
      remark(source);
      scheduleFlush();
    });
  }

  private void remark(Source source) {
    if (active.contains(source)) {
      marked.add(source);
    }
  }

  private static long backoff(int failures) {
    return Math.min(MAX_BACKOFF_MS, 100L << Math.min(6, failures));
  }

  /** The record's value: the event as clients receive it, after the session, user, node and epoch. */
  private String value(Source source, AuditCursor cursor, long seq, String json) {
    StringBuilder value = new StringBuilder(json.length() + 128).append("{\"session_id\":");
    JsonText.quote(value, source.sessionId()).append(",\"user_id\":");
    String user = source.userId();
    (user == null || user.isEmpty() ? value.append("null") : JsonText.quote(value, user)).append(",\"node_id\":");
    JsonText.quote(value, nodeId).append(",\"epoch\":");
    JsonText.quote(value, cursor.epochOf(seq)).append(',');
    return value.append(json, 1, json.length()).toString();
  }
}
