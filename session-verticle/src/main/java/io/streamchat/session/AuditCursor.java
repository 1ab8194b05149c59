package io.streamchat.session;

import io.streamchat.protocol.CacheCommand.AuditMark;
import io.streamchat.protocol.CacheCommand.Claimed;
import io.streamchat.protocol.CacheCommand.StoredEvent;
import io.streamchat.protocol.EpochHistory;
import java.util.ArrayDeque;
import java.util.List;

/**
 * How far one session's stored events are in the audit log, as its owner knows it. Every stored
 * event up to {@link #auditedSeq} is in the topic once (or was counted as lost); the events after
 * it are written in seq order, from the owner's memory or, when memory no longer holds them, from
 * the log in Redis.
 */
final class AuditCursor {

  final EpochHistory epochs;
  /** Events read back from Redis, after {@link #auditedSeq}, oldest first. */
  private final ArrayDeque<StoredEvent> fetched = new ArrayDeque<>();
  long auditedSeq;
  /** Offset of the record of {@link #auditedSeq} in its partition; -1 when not known. */
  long auditedOffset;
  /** When the topic must be read to learn which records arrived, before going on; -1: not needed. */
  long reconcileAtMs = -1;
  /** Where that reading starts when {@link #auditedOffset} is not known: the earliest time such a record can have. */
  final long reconcileFromTimeMs;
  /** A request about this session is in flight (a batch, a read from Redis, a reconciliation, a confirmation). */
  boolean busy;
  long retryAtMs;
  int failures;
  /** The seq last recorded in Redis for the next owner. */
  long recordedSeq;
  /** When Redis last confirmed that this owner holds the newest fencing token (an append, a recorded position). */
  long confirmedAtMs;

  private AuditCursor(String epochList, long auditedSeq, long auditedOffset, long reconcileFromTimeMs, long nowMs) {
    this.epochs = EpochHistory.parse(epochList);
    this.auditedSeq = auditedSeq;
    this.recordedSeq = auditedSeq;
    this.auditedOffset = auditedOffset;
    this.reconcileFromTimeMs = reconcileFromTimeMs;
    this.confirmedAtMs = nowMs;
  }

  /**
   * The cursor of a session just claimed. Nothing stored means nothing audited. After a clean
   * hand-off the recorded position is exact. Otherwise the previous owner may have written records
   * after it, and may still (a paused process, a producer retrying): the topic is read once no
   * record of it can land any more, {@code settleMs} from now.
   */
  static AuditCursor claimed(Claimed claimed, long nowMs, long settleMs) {
    AuditMark mark = claimed.audit();
    if (claimed.lastSeq() == 0) {
      // Its records, if any are ever in doubt, are this owner's, written after now.
      return new AuditCursor(claimed.epochs(), 0, -1, nowMs - 60_000, nowMs);
    }
    // The previous owner's records are no older than its claim (its token is Redis's clock in µs);
    // a minute of margin covers clocks that disagree.
    AuditCursor cursor = new AuditCursor(claimed.epochs(), mark.seq(), mark.offset(),
        claimed.previousFence() / 1000 - 60_000, nowMs);
    if (!mark.exact()) {
      cursor.reconcileAtMs = nowMs + settleMs;
    }
    return cursor;
  }

  String epochOf(long eventSeq) {
    return epochs.epochOf(eventSeq);
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

  /** Every event up to {@code upTo} is settled, the last record written at {@code recordOffset} (-1: none). */
  void advance(long upTo, long recordOffset) {
    if (upTo > auditedSeq) {
      auditedSeq = upTo;
    }
    if (recordOffset >= 0) {
      auditedOffset = recordOffset;
    }
  }

  boolean waiting(long nowMs) {
    return busy || retryAtMs > nowMs || (reconcileAtMs >= 0 && reconcileAtMs > nowMs);
  }

  AuditMark mark(boolean exact) {
    return new AuditMark(auditedSeq, auditedOffset, exact);
  }
}
