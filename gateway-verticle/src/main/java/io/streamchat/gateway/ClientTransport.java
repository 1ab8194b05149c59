package io.streamchat.gateway;

import io.netty.channel.ChannelHandlerContext;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;

/**
 * Where a client connection's frames go: a WebSocket or a Server-Sent Events stream. Used only from
 * the gateway verticle's context.
 */
interface ClientTransport {

  enum Kind {
    WEBSOCKET, SSE;

    /** The value of the {@code transport} label. */
    String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  Kind kind();

  /**
   * Writes one frame: an event of the session (its {@code seq} in {@code epoch}), a snapshot, or a
   * reply ({@code seq} 0).
   */
  void write(String type, long seq, String epoch, String json);

  boolean writeQueueFull();

  /** Called once when the queue has room again after {@link #writeQueueFull()}. */
  void onDrain(Runnable drained);

  /** Stops reading what the client sends (nothing for a one-way stream). */
  void pauseReading();

  void resumeReading();

  /** Keeps a quiet connection alive through proxies and lets the idle timeout find dead peers. */
  void ping();

  /** Ends the connection; {@code code} is the WebSocket close code (a stream just ends). */
  void close(short code, String reason);

  boolean isClosed();

  /** Called once when the connection has ended, whoever ended it. */
  void onClosed(Runnable closed);

  /** How long a client that was closed has to take what was queued for it before its connection is dropped. */
  long CLOSING_GRACE_MS = 5000;

  /**
   * Ends an HTTP/1.1 connection at once, discarding what is queued on it: for a client that reads
   * nothing, which would otherwise keep it until the idle timeout (the public close waits for the
   * queue). Not for HTTP/2, where other streams may share the connection.
   */
  static void drop(HttpConnection connection) {
    if (!(connection instanceof ConnectionBase base)) {
      connection.close();
      return;
    }
    // Closed from the first handler on: Vert.x's own handler, further on, would wait for the queue.
    ChannelHandlerContext first = base.channel().pipeline().firstContext();
    if (first != null) {
      first.close();
    } else {
      base.channel().close();
    }
  }
}
