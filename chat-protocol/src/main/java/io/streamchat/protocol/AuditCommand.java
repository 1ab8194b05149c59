package io.streamchat.protocol;

import java.util.List;

/**
 * Requests to this node's audit verticle ({@link Addresses#AUDIT}, local): the Kafka audit log,
 * one record per stored event, keyed by session.
 */
public sealed interface AuditCommand {

  /**
   * One event for the topic. {@code value} is the event as clients receive it plus
   * {@code session_id}, {@code user_id}, {@code node_id} and {@code epoch}; {@code type} becomes
   * the record's {@code type} header. {@code message}, for an event that changes a message, is that
   * message as the history shows it (the {@code message} header, from which replay rebuilds
   * histories); null otherwise.
   */
  record AuditRecord(String sessionId, long seq, String type, String value, String message) {
  }

  /**
   * Records of one or more sessions, each session's in seq order, made at {@code createdAtMs}.
   * Replied {@link Shipped} once Kafka acknowledged or refused every one of them. Records are
   * handed to Kafka only while the batch is fresh (see {@link #MAX_AGE_MS}): a batch that waited
   * longer (the process was paused) is not written at all.
   */
  record Ship(List<AuditRecord> records, long createdAtMs) implements AuditCommand {
    public static final long MAX_AGE_MS = 1000;
  }

  /** What became of one record. */
  enum Outcome {
    /** In the topic, at the offset given. */
    WRITTEN,
    /** Not known: it may be in the topic (a lost acknowledgement) or not. */
    UNKNOWN,
    /**
     * Certainly not in the topic: it was never handed to Kafka (the batch went stale, or Kafka could
     * not be reached); it may be sent again.
     */
    NOT_SENT,
    /** Not in the topic, and it never will be: Kafka refuses it for good (too large). */
    REFUSED
  }

  /** What became of one record; {@code offset} is -1 unless it was written. */
  record Delivery(Outcome outcome, int partition, long offset) {
    public static final Delivery UNKNOWN = new Delivery(Outcome.UNKNOWN, -1, -1);
    public static final Delivery REFUSED = new Delivery(Outcome.REFUSED, -1, -1);
    public static final Delivery NOT_SENT = new Delivery(Outcome.NOT_SENT, -1, -1);

    public boolean written() {
      return outcome == Outcome.WRITTEN;
    }
  }

  /** One delivery per record of a {@link Ship}, in order. */
  record Shipped(List<Delivery> deliveries) {
  }

  /**
   * Finds what of a session's records after {@code knownSeq} the topic holds, reading its partition
   * from {@code fromOffset} (or, when that is -1, from the first record written at {@code fromTimeMs}
   * or later) to the end. A record counts only under the epoch its seq has in {@code epochs}
   * ("firstSeq:epoch" items, oldest first). Replied {@link Reconciled}.
   */
  record Reconcile(String sessionId, String epochs, long knownSeq, long fromOffset, long fromTimeMs)
      implements AuditCommand {
  }

  /**
   * The newest record of the session after the known seq ({@code lastSeq} = the known seq and
   * {@code offset} -1 when there is none); {@code missing}: seqs between them that the topic lacks.
   */
  record Reconciled(long lastSeq, long offset, long missing) {
  }

  /** Writes the {@code session_deleted} record of a deleted conversation; replied with its {@link Delivery}. */
  record SessionDeleted(String sessionId, String userId, long deletedAtMs) implements AuditCommand {
  }

  /** Whether the producer reaches the topic's brokers: replied {@code true}, or failed {@code unavailable}. */
  record Ping() implements AuditCommand {
  }
}
