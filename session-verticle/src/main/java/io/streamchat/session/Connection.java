package io.streamchat.session;

import io.streamchat.protocol.FrameBatch.Frame;
import java.util.ArrayDeque;

/**
 * A connection attached to a session: its cursor in the log, its flow-control window and the
 * replies waiting for it, each placed after a given seq so that they interleave with events in
 * the order they were decided.
 */
final class Connection {

  record Reply(long afterSeq, Frame frame) {
  }

  final String id;
  /** Which attachment of the connection this is; progress reports of another one do not count. */
  final int generation;
  final String gatewayAddress;
  final ArrayDeque<Reply> replies = new ArrayDeque<>();
  /** The seq of the next event this connection gets. */
  long nextSeq;
  long framesSent;
  long framesAcknowledged;
  long lastSeenMs;

  Connection(String id, int generation, String gatewayAddress, long nextSeq, long nowMs) {
    this.id = id;
    this.generation = generation;
    this.gatewayAddress = gatewayAddress;
    this.nextSeq = nextSeq;
    this.lastSeenMs = nowMs;
  }

  long inFlight() {
    return framesSent - framesAcknowledged;
  }
}
