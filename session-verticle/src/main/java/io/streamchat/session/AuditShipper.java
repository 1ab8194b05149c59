package io.streamchat.session;

import io.streamchat.protocol.AuditCommand.AuditRecord;
import io.streamchat.protocol.AuditCommand.Delivery;
import io.streamchat.protocol.AuditCommand.Outcome;
import io.streamchat.protocol.AuditCommand.Reconcile;
import io.streamchat.protocol.AuditCommand.Reconciled;
import io.streamchat.protocol.CacheCommand.AuditMark;
import io.streamchat.protocol.CacheCommand.StoredEvent;
import io.streamchat.protocol.JsonText;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashSet;
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
 * waiting behind it stay in the sessions' logs. A session is written only by an owner that Redis
 * confirmed holds its newest fencing token a moment ago. A session whose records may or may not
 * have arrived (a failed batch, or taken over from an owner that did not hand it off) first reads
 * the topic to learn which did, and goes on after the newest: each event is in the topic once.
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
    /** {@code deliveries} null when the outcome of the batch is not known at all (no reply). */
    void ship(List<AuditRecord> records, long createdAtMs, BiConsumer<List<Delivery>, Throwable> done);

    void reconcile(Reconcile request, BiConsumer<Reconciled, Throwable> done);
  }

  enum Recorded { RECORDED, FENCED, FAILED }

  /** The session logs in Redis. */
  interface Storage {
    void read(String sessionId, long afterSeq, int max, BiConsumer<List<StoredEvent>, Throwable> done);

    /** Records the session's position for its next owner; the write is fenced. */
    void record(String sessionId, long fence, AuditMark mark, Consumer<Recorded> done);
  }

  /** What the verticle is told. */
  interface Listener {
    void written(int records);

    void failed(String sessionId, Throwable failure);

    /** Events that will never be in the topic: they left Redis first, or Kafka refuses them. */
    void lost(String sessionId, long events, String why);

    /** The topic was read: it holds the session's events up to {@code seq}; this owner knew of {@code known}. */
    void reconciled(String sessionId, long seq, long known);

    /** Redis says another owner holds the session now. */
    void fenced(Source source);

    /**
     * The process was paused: a session may have a new owner, which must not see records of this
     * one land after it read the topic. Nothing is written until {@link #resume()}, which the
     * listener calls once it dropped the sessions it no longer owns.
     */
    void paused();
  }

  /** No beat for this long: the process was paused, and a session may have a new owner by now. */
  static final long PAUSE_SUSPECTED_MS = 2000;
  /**
   * A session is written only this long after Redis last confirmed its owner. A new owner waits
   * far longer (the producer's delivery timeout and more) before it reads the topic.
   */
  static final long CONFIRMED_FOR_MS = 3000;
  private static final long MAX_BACKOFF_MS = 5000;
  private static final int MAX_READS_IN_FLIGHT = 8;
  private static final int MAX_RECONCILES_IN_FLIGHT = 4;

  private final Topic topic;
  private final Storage storage;
  private final AppendPipeline.Clock clock;
  private final Listener listener;
  private final String nodeId;
  private final boolean chunks;
  private final int maxRecords;
  private final long settleMs;
  private final Set<Source> queued = new LinkedHashSet<>();
  private final Set<Source> active = new HashSet<>();
  private boolean batchInFlight;
  private boolean flushScheduled;
  private int readsInFlight;
  private int reconcilesInFlight;
  private long lastBeatMs;
  private boolean holding;

  /**
   * @param settleMs how long a record handed to Kafka may still land: a batch whose outcome is not
   *                 known is followed by a reading of the topic only after this
   */
  AuditShipper(Topic topic, Storage storage, AppendPipeline.Clock clock, Listener listener, String nodeId,
               boolean chunks, int maxRecords, long settleMs) {
    this.topic = topic;
    this.storage = storage;
    this.clock = clock;
    this.listener = listener;
    this.nodeId = nodeId;
    this.chunks = chunks;
    this.maxRecords = Math.max(1, maxRecords);
    this.settleMs = settleMs;
    this.lastBeatMs = clock.nowMs();
  }

  /** The session was just claimed, or has events to write. */
  void enqueue(Source source) {
    active.add(source);
    queued.add(source);
    scheduleFlush();
  }

  /** Redis just stored events of the session, which confirms its owner. */
  void stored(Source source) {
    source.audit().confirmedAtMs = clock.nowMs();
    enqueue(source);
  }

  /** The session left this verticle: nothing more of it is written from here. */
  void forget(Source source) {
    active.remove(source);
    queued.remove(source);
  }

  /** Called often (every few hundred ms) by the verticle: proof the process runs, and time for waits that ended. */
  void beat() {
    long now = clock.nowMs();
    boolean paused = now - lastBeatMs > PAUSE_SUSPECTED_MS;
    lastBeatMs = now;
    if (paused && !holding) {
      holding = true;
      listener.paused();
    } else if (!queued.isEmpty()) {
      scheduleFlush();
    }
  }

  /** Writing goes on after a pause: the sessions left are this verticle's own. */
  void resume() {
    holding = false;
    scheduleFlush();
  }

  /** Every stored event of the session is settled, and nothing about it is in flight. */
  boolean caughtUp(Source source) {
    AuditCursor cursor = source.audit();
    return !cursor.busy && cursor.reconcileAtMs < 0 && cursor.auditedSeq >= source.storedSeq();
  }

  /** Stored events of the session not yet settled. */
  static long behind(Source source) {
    return Math.max(0, source.storedSeq() - source.audit().auditedSeq);
  }

  /** Records the position of every session that moved since, for a next owner. */
  void recordPositions(Iterable<? extends Source> sources) {
    for (Source source : sources) {
      AuditCursor cursor = source.audit();
      if (cursor.auditedSeq > cursor.recordedSeq && cursor.reconcileAtMs < 0 && active.contains(source)) {
        recordPosition(source, false, recorded -> { });
      }
    }
  }

  /** Records the session's position; {@code exact} when nothing of it can come after (a clean hand-off). */
  void recordPosition(Source source, boolean exact, Consumer<Recorded> done) {
    AuditCursor cursor = source.audit();
    long seq = cursor.auditedSeq;
    long before = cursor.recordedSeq;
    cursor.recordedSeq = seq;
    storage.record(source.sessionId(), source.fence(), cursor.mark(exact), recorded -> {
      if (recorded == Recorded.RECORDED) {
        cursor.confirmedAtMs = Math.max(cursor.confirmedAtMs, clock.nowMs());
      } else if (cursor.recordedSeq == seq) {
        cursor.recordedSeq = before;
      }
      if (recorded == Recorded.FENCED) {
        forget(source);
        listener.fenced(source);
      }
      done.accept(recorded);
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
    if (holding || now - lastBeatMs > PAUSE_SUSPECTED_MS) {
      // Woken from a pause: nothing is written until the sessions still owned are known (see beat).
      return;
    }
    List<AuditRecord> records = new ArrayList<>();
    List<Part> parts = new ArrayList<>();
    for (Iterator<Source> it = queued.iterator(); it.hasNext() && records.size() < maxRecords; ) {
      Source source = it.next();
      AuditCursor cursor = source.audit();
      if (cursor.waiting(now)) {
        continue;
      }
      if (cursor.reconcileAtMs >= 0) {
        if (reconcilesInFlight < MAX_RECONCILES_IN_FLIGHT) {
          reconcile(source);
        }
        continue;
      }
      long stored = source.storedSeq();
      if (stored <= cursor.auditedSeq) {
        it.remove();
        continue;
      }
      if (now - cursor.confirmedAtMs > CONFIRMED_FOR_MS) {
        confirm(source);
        continue;
      }
      int fromRecord = records.size();
      long to = cursor.auditedSeq;
      for (long seq = cursor.auditedSeq + 1; seq <= stored && records.size() < maxRecords; seq++) {
        LoggedEvent inMemory = source.heldEvent(seq);
        StoredEvent event = inMemory != null ? inMemory.stored() : cursor.fetched(seq);
        if (event == null) {
          break;
        }
        to = seq;
        if (chunks || !LoggedEvent.CHUNK.equals(event.type())) {
          records.add(new AuditRecord(source.sessionId(), seq, event.type(), value(source, cursor, seq, event.json()),
              messageHeader(event)));
        }
      }
      if (to == cursor.auditedSeq) {
        if (readsInFlight < MAX_READS_IN_FLIGHT) {
          read(source);
        }
        continue;
      }
      it.remove();
      parts.add(new Part(source, to, fromRecord, records.size()));
    }
    if (parts.isEmpty()) {
      return;
    }
    if (records.isEmpty()) {
      parts.forEach(part -> settled(part, records, List.of(), false));
      scheduleFlush();
      return;
    }
    batchInFlight = true;
    parts.forEach(part -> part.source().audit().busy = true);
    topic.ship(records, now, (deliveries, failure) -> {
      batchInFlight = false;
      int written = 0;
      for (Part part : parts) {
        part.source().audit().busy = false;
        if (deliveries == null) {
          failedUnknown(part.source(), failure, settleMs);
        } else {
          written += settled(part, records, deliveries, true);
        }
      }
      listener.written(written);
      scheduleFlush();
    });
  }

  /**
   * Applies the outcome of a part of a batch; returns the records of it that were written. The
   * cursor moves over the records settled in order (written, or refused for good and counted); a
   * record of unknown outcome stops it there.
   */
  private int settled(Part part, List<AuditRecord> records, List<Delivery> deliveries, boolean shipped) {
    Source source = part.source();
    AuditCursor cursor = source.audit();
    int written = 0;
    int i = part.fromRecord();
    for (; shipped && i < part.toRecord() && settles(deliveries.get(i)); i++) {
      Delivery delivery = deliveries.get(i);
      if (delivery.written()) {
        written++;
      } else {
        listener.lost(source.sessionId(), 1, "Kafka refuses record " + records.get(i).seq() + " ("
            + records.get(i).type() + ") for good; it is too large for the broker");
      }
      cursor.advance(records.get(i).seq(), delivery.offset());
    }
    if (i == part.toRecord()) {
      cursor.advance(part.toSeq(), -1);
      cursor.failures = 0;
    } else if (deliveries.get(i).outcome() == Outcome.NOT_SENT) {
      // It and the rest of the part never reached Kafka: they go again from there, after a while.
      cursor.retryAtMs = clock.nowMs() + backoff(++cursor.failures);
      listener.failed(source.sessionId(), new IllegalStateException("Kafka could not be reached"));
    } else {
      // The producer gave up on it, but a request of it may still be on its way to the broker, and
      // land after a reading that came too early: the topic is read once nothing of it can land.
      failedUnknown(source, new IllegalStateException("Kafka did not acknowledge record " + records.get(i).seq()),
          settleMs);
    }
    requeue(source);
    return written;
  }

  /** Written, or refused for good: either way the cursor may move past it. */
  private static boolean settles(Delivery delivery) {
    return delivery.outcome() == Outcome.WRITTEN || delivery.outcome() == Outcome.REFUSED;
  }

  /** Some records may be in the topic even so: it is read, {@code afterMs} from now, before going on. */
  private void failedUnknown(Source source, Throwable failure, long afterMs) {
    AuditCursor cursor = source.audit();
    cursor.failures++;
    cursor.reconcileAtMs = clock.nowMs() + afterMs;
    listener.failed(source.sessionId(), failure);
    requeue(source);
  }

  /** Asks Redis whether this owner still holds the session before writing more of it. */
  private void confirm(Source source) {
    AuditCursor cursor = source.audit();
    cursor.busy = true;
    recordPosition(source, false, recorded -> {
      cursor.busy = false;
      if (recorded == Recorded.FAILED) {
        cursor.retryAtMs = clock.nowMs() + backoff(++cursor.failures);
      }
      requeue(source);
      scheduleFlush();
    });
  }

  private void read(Source source) {
    AuditCursor cursor = source.audit();
    cursor.busy = true;
    readsInFlight++;
    long after = cursor.auditedSeq;
    storage.read(source.sessionId(), after, maxRecords, (events, failure) -> {
      cursor.busy = false;
      readsInFlight--;
      if (failure != null) {
        cursor.retryAtMs = clock.nowMs() + backoff(++cursor.failures);
        listener.failed(source.sessionId(), failure);
      } else {
        long stored = source.storedSeq();
        long first = events.isEmpty() ? stored + 1 : events.get(0).seq();
        if (first > after + 1) {
          listener.lost(source.sessionId(), first - 1 - after, "events " + (after + 1) + ".." + (first - 1)
              + " left the Redis log before they reached the audit log");
          cursor.advance(first - 1, -1);
        }
        cursor.addFetched(events);
      }
      requeue(source);
      scheduleFlush();
    });
  }

  private void reconcile(Source source) {
    AuditCursor cursor = source.audit();
    cursor.busy = true;
    reconcilesInFlight++;
    long known = cursor.auditedSeq;
    Reconcile request = new Reconcile(source.sessionId(), cursor.epochs.toString(), known, cursor.auditedOffset,
        cursor.auditedOffset >= 0 ? -1 : cursor.reconcileFromTimeMs);
    topic.reconcile(request, (found, failure) -> {
      cursor.busy = false;
      reconcilesInFlight--;
      if (failure != null) {
        cursor.reconcileAtMs = clock.nowMs() + backoff(++cursor.failures);
        listener.failed(source.sessionId(), failure);
      } else {
        cursor.reconcileAtMs = -1;
        cursor.failures = 0;
        listener.reconciled(source.sessionId(), Math.max(found.lastSeq(), known), known);
        if (found.missing() > 0) {
          listener.lost(source.sessionId(), found.missing(), found.missing() + " events before seq " + found.lastSeq()
              + " never arrived while later ones did");
        }
        if (found.lastSeq() > cursor.auditedSeq) {
          cursor.advance(found.lastSeq(), found.offset());
        }
      }
      requeue(source);
      scheduleFlush();
    });
  }

  private void requeue(Source source) {
    if (active.contains(source)) {
      queued.add(source);
    }
  }

  private static long backoff(int failures) {
    return Math.min(MAX_BACKOFF_MS, 100L << Math.min(6, failures));
  }

  /**
   * The message the event changed, as the history shows it; for an answer's end without its
   * content, which the event carries already (records stay half as large).
   */
  private static String messageHeader(StoredEvent event) {
    if (event.messageJson() == null || !LoggedEvent.COMPLETE.equals(event.type())) {
      return event.messageJson();
    }
    JsonObject message = new JsonObject(event.messageJson());
    message.remove("content");
    return message.encode();
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
