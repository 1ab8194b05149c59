package io.streamchat.gateway;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.ServerWebSocket;

/** Frames as WebSocket text messages. */
final class WebSocketTransport implements ClientTransport {

  private final Vertx vertx;
  private final ServerWebSocket socket;
  private final HttpConnection connection;
  private Runnable closed = () -> { };
  private boolean ended;

  WebSocketTransport(Vertx vertx, ServerWebSocket socket, HttpConnection connection) {
    this.vertx = vertx;
    this.socket = socket;
    this.connection = connection;
    socket.closeHandler(v -> {
      ended = true;
      closed.run();
    });
  }

  @Override
  public Kind kind() {
    return Kind.WEBSOCKET;
  }

  @Override
  public void write(String type, long seq, String epoch, String json) {
    socket.writeTextMessage(json);
  }

  @Override
  public boolean writeQueueFull() {
    return socket.writeQueueFull();
  }

  @Override
  public void onDrain(Runnable drained) {
    socket.drainHandler(v -> drained.run());
  }

  @Override
  public void pauseReading() {
    socket.pause();
  }

  @Override
  public void resumeReading() {
    socket.resume();
  }

  @Override
  public void ping() {
    socket.writePing(Buffer.buffer());
  }

  @Override
  public void close(short code, String reason) {
    socket.close(code, reason);
    // A client that reads nothing never gets the close frame, queued behind what it did not take,
    // and would keep its connection until the idle timeout: it is dropped, what is queued with it.
    vertx.setTimer(CLOSING_GRACE_MS, id -> {
      if (!ended) {
        ClientTransport.drop(connection);
      }
    });
  }

  @Override
  public boolean isClosed() {
    return socket.isClosed();
  }

  @Override
  public void onClosed(Runnable closed) {
    this.closed = closed;
  }
}
