package io.streamchat.protocol;

import java.util.List;

/**
 * Frames for one connection, in the order they must be written. Events carry their seq; replies
 * (history, recovery_status, cancel_ack, error) carry seq 0.
 */
public record FrameBatch(String connectionId, List<Frame> frames) {

  public record Frame(long seq, String type, String json) {
  }

  /** The session owner has dropped this connection (lost ownership, passivated or evicted it). */
  public static final String DETACHED = "detached";

  public static FrameBatch detached(String connectionId) {
    return new FrameBatch(connectionId, List.of(new Frame(0, DETACHED, "")));
  }
}
