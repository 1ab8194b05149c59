package io.streamchat.gateway;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;

/** Frames as WebSocket text messages. */
final class WebSocketTransport implements ClientTransport {

  private final ServerWebSocket socket;

  WebSocketTransport(ServerWebSocket socket) {
    this.socket = socket;
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
  }

  @Override
  public boolean isClosed() {
    return socket.isClosed();
  }

  @Override
  public void onClosed(Runnable closed) {
    socket.closeHandler(v -> closed.run());
  }
}
