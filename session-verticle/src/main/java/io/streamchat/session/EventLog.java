package io.streamchat.session;

import java.util.ArrayList;
import java.util.List;

/**
 * The recent events of a session, in seq order with no gap, in a ring with index access by seq.
 * It keeps at least {@code retained} events and never forgets an event that is not stored yet.
 */
final class EventLog {

  private final int retained;
  private LoggedEvent[] ring = new LoggedEvent[64];
  private int head;
  private int size;
  private long lastSeq;

  EventLog(int retained, long lastSeq) {
    this.retained = Math.max(1, retained);
    this.lastSeq = lastSeq;
  }

  long lastSeq() {
    return lastSeq;
  }

  /** The oldest seq still held; {@code lastSeq + 1} when empty. */
  long firstSeq() {
    return lastSeq - size + 1;
  }

  int size() {
    return size;
  }

  /** Events loaded from storage; only the contiguous run that ends at {@code lastSeq} is kept. */
  void restore(List<LoggedEvent> stored) {
    int start = stored.size();
    long expected = lastSeq;
    while (start > 0 && stored.get(start - 1).seq() == expected) {
      start--;
      expected--;
    }
    size = 0;
    head = 0;
    long keep = lastSeq;
    lastSeq = expected;
    for (LoggedEvent event : stored.subList(start, stored.size())) {
      append(event, keep);
    }
  }

  void append(LoggedEvent event, long storedSeq) {
    if (event.seq() != lastSeq + 1) {
      throw new IllegalStateException("event " + event.seq() + " after " + lastSeq);
    }
    if (size == ring.length) {
      grow();
    }
    ring[(head + size) % ring.length] = event;
    size++;
    lastSeq = event.seq();
    trim(storedSeq);
  }

  void trim(long storedSeq) {
    while (size > retained && ring[head].seq() <= storedSeq) {
      ring[head] = null;
      head = (head + 1) % ring.length;
      size--;
    }
  }

  /** Whether every event after {@code seq} is held, so a cursor at {@code seq} can be served. */
  boolean canServeAfter(long seq) {
    return seq >= 0 && seq <= lastSeq && seq + 1 >= firstSeq();
  }

  LoggedEvent get(long seq) {
    if (seq < firstSeq() || seq > lastSeq) {
      return null;
    }
    return ring[(int) ((head + (seq - firstSeq())) % ring.length)];
  }

  int countChunksAfter(long after) {
    int chunks = 0;
    for (long seq = Math.max(after + 1, firstSeq()); seq <= lastSeq; seq++) {
      if (get(seq).isChunk()) {
        chunks++;
      }
    }
    return chunks;
  }

  /** The chunk events of one message with index above {@code afterIndex}, then its complete event, as held. */
  List<LoggedEvent> eventsOf(String messageId, int afterIndex) {
    List<LoggedEvent> out = new ArrayList<>();
    for (long seq = firstSeq(); seq <= lastSeq; seq++) {
      LoggedEvent event = get(seq);
      if (messageId.equals(event.messageId())
          && ((event.isChunk() && event.index() > afterIndex) || LoggedEvent.COMPLETE.equals(event.type()))) {
        out.add(event);
      }
    }
    return out;
  }

  private void grow() {
    LoggedEvent[] bigger = new LoggedEvent[ring.length * 2];
    for (int i = 0; i < size; i++) {
      bigger[i] = ring[(head + i) % ring.length];
    }
    ring = bigger;
    head = 0;
  }
}
