package io.streamchat.protocol;

import java.util.List;

/** Commands to the cache verticles, the only code that talks to Redis. */
public sealed interface CacheCommand {

  /** One event as stored: its client JSON and, for events that change a message, that message's JSON. */
  record StoredEvent(long seq, String type, String json, String messageId, String messageJson) {
  }

  /**
   * Takes the next fencing token of a session and loads its state. {@code proposedEpoch} becomes
   * the epoch unless the previous owner released the session cleanly.
   */
  record Claim(String sessionId, String proposedEpoch, int replayEvents, int maxMessages) implements CacheCommand {
  }

  /**
   * A claimed session. {@code epochs} names the epoch of every stored event: "firstSeq:epoch" items,
   * comma-separated, oldest first. {@code audit} is where the audit log stood when the previous
   * owner last wrote it down; {@code previousFence} that owner's token.
   */
  record Claimed(long fence, String epoch, boolean epochChanged, long lastSeq, String userId,
                 List<String> messages, List<StoredEvent> recentEvents, List<StoredEvent> streamingEvents,
                 String epochs, AuditMark audit, long previousFence) {

    /** The claim of a session the durable tier gave back: nothing of it is in Redis's log. */
    public Claimed withHistory(String userId, List<String> messages) {
      return new Claimed(fence, epoch, true, 0, userId, messages, List.of(), List.of(), epochs, audit, previousFence);
    }
  }

  /**
   * How far a session's events are in the audit log: every stored event up to {@code seq}, the
   * last at {@code offset} (-1: unknown). {@code exact}: its owner handed off with nothing
   * written beyond it; otherwise records after {@code seq} may be in the topic already.
   */
  record AuditMark(long seq, long offset, boolean exact) {
    public static final AuditMark NONE = new AuditMark(0, -1, true);
  }

  /** Writes down how far the session's events are in the audit log; refused unless {@code fence} is the newest. */
  record MarkAudited(String sessionId, long fence, AuditMark mark) implements CacheCommand {
  }

  /** Stored events of a session with seq above {@code afterSeq}, at most {@code max}: replied {@link LogEvents}. */
  record ReadLog(String sessionId, long afterSeq, int max) implements CacheCommand {
  }

  /** Events oldest first; empty when the log holds none after the seq asked (trimmed or none yet). */
  record LogEvents(List<StoredEvent> events) {
  }

  /** Appends events in seq order; refused unless {@code fence} is the session's newest token. Replies the stored last seq. */
  record Append(String sessionId, long fence, String userId, List<StoredEvent> events) implements CacheCommand {
  }

  /**
   * Appends of many sessions in one request (one Redis round trip). Replies {@link Appended}, one
   * result per append, in order; the request fails only when Redis could not be asked at all.
   */
  record AppendBatch(List<Append> appends) implements CacheCommand {
  }

  enum AppendOutcome { STORED, FENCED }

  /** The outcome of one append of a batch: stored up to {@code storedSeq}, or refused for a stale fencing token. */
  record AppendResult(AppendOutcome outcome, long storedSeq) {
  }

  record Appended(List<AppendResult> results) {
  }

  /** Whether {@code fence} is still the session's newest token; fails with {@link InternalFailure#FENCED} when not. */
  record CheckFence(String sessionId, long fence) implements CacheCommand {
  }

  /**
   * Fills the history of a session that Redis had forgotten, from the durable tier: messages (JSON,
   * with their ids) oldest first; refused unless {@code fence} is the newest.
   */
  record Seed(String sessionId, long fence, String userId, List<String> messageIds, List<String> messages)
      implements CacheCommand {
  }

  /** Forgets a deleted conversation (log, history, epoch); refused unless {@code fence} is the newest. */
  record Forget(String sessionId, long fence) implements CacheCommand {
  }

  /** Whether Redis holds the session (its metadata): replied a Boolean. */
  record Holds(String sessionId) implements CacheCommand {
  }

  /** Marks a clean hand-off: every event delivered under this owner is stored. */
  record Release(String sessionId, long fence) implements CacheCommand {
  }

  /**
   * A place in a bounded set held in Redis for the whole cluster, e.g. one of a user's connections:
   * {@code holderId} in set {@code key}, which holds at most {@code limit}; the place lapses after
   * {@code leaseMs} unless renewed, so that the places of a node that died free themselves.
   */
  record Place(String key, String holderId, int limit, long leaseMs) {
  }

  /** Takes every place or none: replied the index of the first place refused, or -1 when all are held. */
  record Hold(List<Place> places) implements CacheCommand {
  }

  /** Extends the lease of places already held (whatever their limit); replied the number renewed. */
  record Renew(List<Place> places) implements CacheCommand {
  }

  /** Gives places up. */
  record Vacate(List<Place> places) implements CacheCommand {
  }

  /**
   * Counts one event in a window of {@code windowMs} shared by the cluster, at most {@code limit}:
   * replied 0 when counted, else the milliseconds until the window ends (the event is not counted).
   */
  record Count(String key, int limit, long windowMs) implements CacheCommand {
  }

  /** Gives back an event counted by {@link Count} in the window still running (none: nothing). */
  record Uncount(String key) implements CacheCommand {
  }

  /** Whether Redis answers: replied {@code true}, or failed {@code unavailable}. */
  record Ping() implements CacheCommand {
  }
}
