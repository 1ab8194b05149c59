package io.streamchat.session;

import io.streamchat.protocol.CacheCommand.StoredEvent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A session's numbered events on their way out: each one appended is pumped to the attached
 * connections, published, and marked for storage; this class tracks how far storage is, and tells
 * the generator of an ended answer when that end is stored.
 */
final class SessionLog {

  /** What the log asks of the world. */
  interface Outlet {

    /** A new event, for internal consumers and the audit log. */
    void publish(LoggedEvent event);

    /** New events wait to be stored. */
    void persist();

    /** Tells a generator its answer's end is stored, so it can forget the answer. */
    void answerStored(String messageId, String generatorAddress);
  }

  private final EventLog log;
  private final AttachedConnections connections;
  private final Outlet outlet;
  private long storedSeq;
  /** Chunks up to here have let their JSON go. */
  private long compactedSeq;
  /** While tokens taken as they came are appended: when the provider gave them (see {@code FrameBatch}). */
  private long liveSinceMicros;
  /** Ended answers whose generator waits to hear that the end is stored, by message id. */
  private final Map<String, LoggedEvent> awaitingStore = new LinkedHashMap<>();
  private final Map<String, String> generators = new HashMap<>();

  SessionLog(EventLog log, AttachedConnections connections, Outlet outlet, long storedSeq) {
    this.log = log;
    this.connections = connections;
    this.outlet = outlet;
    this.storedSeq = storedSeq;
    this.compactedSeq = storedSeq;
  }

  long nextSeq() {
    return log.lastSeq() + 1;
  }

  /** Redis holds every event up to this seq. */
  long storedSeq() {
    return storedSeq;
  }

  long unstoredCount() {
    return log.lastSeq() - storedSeq;
  }

  /** Events appended until {@link #notLive()} came from the provider at this time (wall clock, µs). */
  void liveSince(long micros) {
    liveSinceMicros = micros;
  }

  void notLive() {
    liveSinceMicros = 0;
  }

  LoggedEvent append(String type, String json, String messageId, int index, MessageView message) {
    return append(new LoggedEvent(nextSeq(), type, json, messageId, index,
        message == null ? null : message.encode()));
  }

  LoggedEvent append(LoggedEvent event) {
    log.append(event, storedSeq);
    outlet.publish(event);
    connections.pumpAll(liveSinceMicros);
    outlet.persist();
    return event;
  }

  /** The generator of an answer that ended with {@code end} hears when that event is stored. */
  void tellWhenStored(LoggedEvent end, String generatorAddress) {
    awaitingStore.put(end.messageId(), end);
    generators.put(end.messageId(), generatorAddress);
  }

  List<StoredEvent> unstored(int max) {
    List<StoredEvent> batch = new ArrayList<>(Math.min(max, (int) unstoredCount()));
    for (long seq = storedSeq + 1; seq <= log.lastSeq() && batch.size() < max; seq++) {
      batch.add(log.get(seq).stored());
    }
    return batch;
  }

  void stored(long seq) {
    if (seq <= storedSeq) {
      return;
    }
    storedSeq = Math.min(seq, log.lastSeq());
    // A chunk lets its JSON go once it is stored and sent to every connection: a connection that
    // lags (its window full) takes it from here later, and would have it rendered again.
    long compactTo = Math.min(storedSeq, connections.firstUnsentSeq() - 1);
    for (long event = Math.max(compactedSeq + 1, log.firstSeq()); event <= compactTo; event++) {
      log.get(event).releaseJson();
    }
    compactedSeq = Math.max(compactedSeq, compactTo);
    log.trim(storedSeq);
    for (Iterator<Map.Entry<String, LoggedEvent>> it = awaitingStore.entrySet().iterator(); it.hasNext(); ) {
      LoggedEvent end = it.next().getValue();
      if (end.seq() <= storedSeq) {
        outlet.answerStored(end.messageId(), generators.remove(end.messageId()));
        it.remove();
      }
    }
  }
}
