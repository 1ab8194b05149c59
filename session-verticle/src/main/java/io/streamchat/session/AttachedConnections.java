package io.streamchat.session;

import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.FrameBatch;
import io.streamchat.protocol.FrameBatch.Frame;
import io.streamchat.protocol.SessionCommand.Attach;
import io.streamchat.protocol.SessionCommand.Credit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * The connections attached to one session and what each gets next: the log's events from its
 * cursor on, interleaved with the replies decided for it, never more than its window of frames
 * unacknowledged. A connection that falls behind what the log still holds starts over from a
 * fresh snapshot.
 */
final class AttachedConnections {

  /** In attach order; iterated for every event (a linked map starts an iteration without scanning its table). */
  private final Map<String, Connection> connections = new LinkedHashMap<>();
  private final EventLog log;
  private final long fence;
  private final int windowFrames;
  /** The {@code history} frame of the session now. */
  private final Supplier<Frame> snapshot;
  /** Frames to a connection's gateway, in order. */
  private final BiConsumer<String, FrameBatch> delivery;

  AttachedConnections(EventLog log, long fence, int windowFrames, Supplier<Frame> snapshot,
                      BiConsumer<String, FrameBatch> delivery) {
    this.log = log;
    this.fence = fence;
    this.windowFrames = windowFrames;
    this.snapshot = snapshot;
    this.delivery = delivery;
  }

  /** The oldest event some attached connection has still to be sent; past the log's end when none has. */
  long firstUnsentSeq() {
    long first = log.lastSeq() + 1;
    for (Connection connection : connections.values()) {
      first = Math.min(first, connection.nextSeq);
    }
    return first;
  }

  /**
   * Attaches a connection with its cursor after the log's last event; the caller queues what it gets
   * first and then {@link #pump}s it. Null when this very attachment is already here (a repeat). A
   * connection attached through another gateway before is told there that it is detached.
   */
  Connection open(Attach attach, long nowMs) {
    Connection existing = connections.get(attach.connectionId());
    if (existing != null && existing.generation == attach.generation()
        && existing.gatewayAddress.equals(attach.gatewayAddress())) {
      return null;
    }
    Connection connection = new Connection(attach.connectionId(), attach.generation(), attach.gatewayAddress(),
        log.lastSeq() + 1, nowMs);
    Connection previous = connections.put(connection.id, connection);
    if (previous != null && !previous.gatewayAddress.equals(connection.gatewayAddress)) {
      delivery.accept(previous.gatewayAddress, FrameBatch.detached(previous.id, fence));
    }
    return connection;
  }

  void detach(String connectionId) {
    connections.remove(connectionId);
  }

  /** Every connection, dropped: the gateways re-attach them wherever the session lives next. */
  Collection<Connection> detachAll() {
    List<Connection> all = new ArrayList<>(connections.values());
    connections.clear();
    return all;
  }

  boolean contains(String connectionId) {
    return connections.containsKey(connectionId);
  }

  boolean isEmpty() {
    return connections.isEmpty();
  }

  /** The client reported the frames it received: its window opens by as many. */
  void credit(Credit credit, long nowMs) {
    Connection connection = connections.get(credit.connectionId());
    if (connection == null) {
      return;
    }
    connection.lastSeenMs = nowMs;
    if (credit.generation() == connection.generation && credit.framesReceived() > connection.framesAcknowledged) {
      connection.framesAcknowledged = Math.min(credit.framesReceived(), connection.framesSent);
      pump(connection);
    }
  }

  /**
   * The connection that replies are for, or null when it is not attached here. A connection whose
   * replies pile up unread is refused: its memory stays bounded.
   */
  Connection replyTarget(String connectionId) {
    Connection connection = connectionId == null ? null : connections.get(connectionId);
    if (connection != null && connection.replies.size() >= windowFrames) {
      throw new ChatException(ErrorCode.RATE_LIMITED, "too many replies are waiting for this connection; read them first");
    }
    return connection;
  }

  /** A reply for the connection, sent after the events up to {@code afterSeq}. */
  static void queue(Connection connection, long afterSeq, Frame frame) {
    connection.replies.add(new Connection.Reply(afterSeq, frame));
  }

  /** Drops the connections not heard from for {@code timeoutMs}: their clients are gone. */
  void dropSilent(long nowMs, long timeoutMs) {
    connections.values().removeIf(connection -> nowMs - connection.lastSeenMs > timeoutMs);
  }

  /** New events are in the log: every connection gets what its window allows. */
  void pumpAll(long liveSinceMicros) {
    for (Connection connection : connections.values()) {
      pump(connection, liveSinceMicros);
    }
  }

  void pump(Connection connection) {
    pump(connection, 0);
  }

  /** Sends a connection what it should get next, up to its window, in one batch. */
  private void pump(Connection connection, long liveSinceMicros) {
    List<Frame> frames = null;
    while (connection.inFlight() < windowFrames) {
      Connection.Reply reply = connection.replies.peekFirst();
      Frame next;
      if (reply != null && reply.afterSeq() < connection.nextSeq) {
        connection.replies.pollFirst();
        next = reply.frame();
      } else if (connection.nextSeq <= log.lastSeq()) {
        LoggedEvent event = log.get(connection.nextSeq);
        if (event == null) {
          fellBehind(connection);
          continue;
        }
        next = event.frame();
        connection.nextSeq++;
      } else {
        break;
      }
      if (frames == null) {
        frames = new ArrayList<>();
      }
      frames.add(next);
      connection.framesSent++;
    }
    if (frames != null) {
      delivery.accept(connection.gatewayAddress, new FrameBatch(connection.id, fence, frames, liveSinceMicros));
    }
  }

  /** The connection lags behind what the log holds: it starts over from a fresh snapshot. */
  private void fellBehind(Connection connection) {
    long head = log.lastSeq();
    List<Connection.Reply> waiting = new ArrayList<>(connection.replies);
    connection.replies.clear();
    queue(connection, connection.nextSeq - 1, SessionFrames.reset(head));
    queue(connection, connection.nextSeq - 1, snapshot.get());
    for (Connection.Reply reply : waiting) {
      // Acks and statuses still come, after the fresh snapshot; events they referred to are in it.
      if (reply.frame().seq() == 0) {
        queue(connection, head, reply.frame());
      }
    }
    connection.nextSeq = head + 1;
  }
}
