package io.streamchat.session;

import io.streamchat.protocol.CacheCommand.AuditMark;
import io.streamchat.protocol.CacheCommand.Claimed;
import io.streamchat.protocol.CacheCommand.StoredEvent;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * How far one session's stored events are in the audit log, as its owner knows it. Every stored
 * event up to {@link #seq} is in the topic once; the events after it are written in seq order,
 * from the owner's memory or, when memory no longer holds them, from the log in Redis.
 */
final class AuditCursor {

  /** The epoch of the stored events from {@code firstSeq} on. */
  private record EpochStart(long firstSeq, String epoch) {
  }

  private final List<EpochStart> epochs = new ArrayList<>();
  /** Events read back from Redis, after {@link #seq}, oldest first. */
  private final ArrayDeque<StoredEvent> fetched = new ArrayDeque<>();
  long seq;
  /** Offset of the record of {@link #seq} in its partition; -1 when not known. */
  long offset;
  /** When the topic must be read to learn what an earlier owner wrote, before going on; -1: not needed. */
  long reconcileAtMs = -1;
  /** Where that reading starts when {@link #offset} is not known: the earliest time such a record can have. */
  final long reconcileFromTimeMs;
  /** A request about this session is in flight (a batch, a read from Redis, a reconciliation). */
  boolean busy;
  long retryAtMs;
  int failures;
  /** The seq last written down in Redis for the next owner. */
  long markedSeq;

  private AuditCursor(String epochList, long seq, long offset, long reconcileFromTimeMs) {
    for (String item : epochList.split(",")) {
      int colon = item.indexOf(':');
      if (colon > 0) {
        epochs.add(new EpochStart(Long.parseLong(item.substring(0, colon)), item.substring(colon + 1)));
      }
    }
    this.seq = seq;
    this.markedSeq = seq;
    this.offset = offset;
    this.reconcileFromTimeMs = reconcileFromTimeMs;
  }

  /**
   * The cursor of a session just claimed. Nothing stored means nothing audited. After a clean
   * hand-off the mark is exact. Otherwise the previous owner may have written records after the
   * mark, and may still (a paused process, a producer retrying): the topic is read once no record
   * of it can land any more, {@code settleMs} from now.
   */
  static AuditCursor claimed(Claimed claimed, long nowMs, long settleMs) {
    AuditMark mark = claimed.audit();
    if (claimed.lastSeq() == 0) {
      // Its records, if any are ever in doubt, are this owner's, written after now.
      return new AuditCursor(claimed.epochs(), 0, -1, nowMs - 60_000);
    }
    // The previous owner's records are no older than its claim (its token is Redis's clock in µs);
    // a minute of margin covers clocks that disagree.
    AuditCursor cursor = new AuditCursor(claimed.epochs(), mark.seq(), mark.offset(),
        claimed.previousFence() / 1000 - 60_000);
    if (!mark.exact()) {
      cursor.reconcileAtMs = nowMs + settleMs;
    }
    return cursor;
  }

  /** The epochs of the stored events. */
  List<String> epochNames() {
    List<String> names = new ArrayList<>(epochs.size());
    for (EpochStart start : epochs) {
      names.add(start.epoch());
    }
    return names;
  }

  String epochOf(long eventSeq) {
    String epoch = epochs.isEmpty() ? "" : epochs.get(0).epoch();
    for (EpochStart start : epochs) {
      if (start.firstSeq() <= eventSeq) {
        epoch = start.epoch();
      }
    }
    return epoch;
  }

  /** An event read back from Redis, or null. */
  StoredEvent fetched(long eventSeq) {
    while (!fetched.isEmpty() && fetched.peekFirst().seq() < eventSeq) {
      fetched.pollFirst();
    }
    StoredEvent first = fetched.peekFirst();
    return first != null && first.seq() == eventSeq ? first : null;
  }

  void addFetched(List<StoredEvent> events) {
    fetched.clear();
    fetched.addAll(events);
  }

  /** Every event up to {@code upTo} is in the topic, the last record at {@code recordOffset} (-1: none written). */
  void advance(long upTo, long recordOffset) {
    if (upTo > seq) {
      seq = upTo;
    }
    if (recordOffset >= 0) {
      offset = recordOffset;
    }
    failures = 0;
  }

  boolean waiting(long nowMs) {
    return busy || retryAtMs > nowMs || (reconcileAtMs >= 0 && reconcileAtMs > nowMs);
  }

  AuditMark mark(boolean exact) {
    return new AuditMark(seq, offset, exact);
  }
}
