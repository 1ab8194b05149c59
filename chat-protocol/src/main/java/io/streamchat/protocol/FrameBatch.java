package io.streamchat.protocol;

import java.util.List;

/**
 * Frames for one connection, in the order they must be written. Events carry their seq; replies
 * (history, recovery_status, cancel_ack, error) carry seq 0. {@code liveSinceMicros} is when the
 * provider gave the token these frames deliver live ({@link WallClock#micros()}), or 0: the gateway
 * times the delivery from there.
 */
public record FrameBatch(String connectionId, long fence, List<Frame> frames, long liveSinceMicros) {

  public FrameBatch(String connectionId, long fence, List<Frame> frames) {
    this(connectionId, fence, frames, 0);
  }

  public record Frame(long seq, String type, String json) {
  }

  /** The session owner has dropped this connection (lost ownership, passivated or evicted it). */
  public static final String DETACHED = "detached";

  /** The conversation was deleted: the socket is told {@code not_found} and closed. */
  public static final String DELETED = "deleted";

  public static FrameBatch deleted(String connectionId, long fence) {
    return new FrameBatch(connectionId, fence, List.of(new Frame(0, DELETED, "")));
  }

  /**
   * The owner holding {@code fence} drops this connection. {@code fence} lets a gateway ignore the
   * frames of an owner that was replaced: fencing tokens of a session only grow.
   */
  public static FrameBatch detached(String connectionId, long fence) {
    return new FrameBatch(connectionId, fence, List.of(new Frame(0, DETACHED, "")));
  }
}
