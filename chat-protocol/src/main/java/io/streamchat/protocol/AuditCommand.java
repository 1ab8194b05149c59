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
   * Records of one or more sessions, each session's in seq order. Replied {@link Shipped} once
   * Kafka acknowledged or refused every one of them.
   */
  record Ship(List<AuditRecord> records) implements AuditCommand {
  }

  /** Where one record was written; {@code offset} is -1 when it was not (or may not have been) written. */
  record Written(int partition, long offset) {
    public boolean succeeded() {
      return offset >= 0;
    }
  }

  /** One outcome per record of a {@link Ship}, in order. */
  record Shipped(List<Written> results) {
  }

  /**
   * Finds the newest of a session's records already in the topic: those of {@code epochs}, read
   * from {@code fromOffset} of its partition (or, when that is -1, from the first record written at
   * {@code fromTimeMs} or later) to the end. Replied {@link Reconciled}.
   */
  record Reconcile(String sessionId, List<String> epochs, long fromOffset, long fromTimeMs) implements AuditCommand {
  }

  /** {@code lastSeq} 0 when the topic holds none of the session's records; then offset is -1. */
  record Reconciled(long lastSeq, int partition, long offset) {
  }

  /** Writes the {@code session_deleted} record of a deleted conversation; replied with its {@link Written}. */
  record SessionDeleted(String sessionId, String userId, long deletedAtMs) implements AuditCommand {
  }
}
