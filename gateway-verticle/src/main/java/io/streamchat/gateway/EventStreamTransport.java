package io.streamchat.gateway;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;

/**
 * Frames as Server-Sent Events: {@code id: <epoch>:<seq>} on every event of the session and on the
 * snapshot, so that a reconnecting client's {@code Last-Event-ID} is its cursor; {@code event:} the
 * frame's type; {@code data:} its JSON, which is always one line.
 */
final class EventStreamTransport implements ClientTransport {

  /** HTTP/2's CANCEL: the stream is no longer needed. */
  private static final long CANCEL = 0x8;

  private final Vertx vertx;
  private final HttpServerRequest request;
  private final HttpServerResponse response;
  private Runnable closed = () -> { };
  private boolean ended;

  EventStreamTransport(Vertx vertx, HttpServerRequest request) {
    this.vertx = vertx;
    this.request = request;
    this.response = request.response();
    response.setChunked(true)
        .putHeader("content-type", "text/event-stream; charset=utf-8")
        .putHeader("cache-control", "no-cache")
        .putHeader("x-accel-buffering", "no");
    response.closeHandler(v -> end());
  }

  /** The {@code id} of an event: the client's cursor once it has applied it. */
  static String eventId(String epoch, long seq) {
    return epoch + ":" + seq;
  }

  @Override
  public Kind kind() {
    return Kind.SSE;
  }

  @Override
  public void write(String type, long seq, String epoch, String json) {
    if (ended) {
      return;
    }
    StringBuilder event = new StringBuilder(json.length() + 64);
    if (epoch != null && (seq > 0 || "history".equals(type))) {
      event.append("id: ").append(eventId(epoch, seq)).append('\n');
    }
    event.append("event: ").append(type).append("\ndata: ").append(json).append("\n\n");
    response.write(event.toString());
  }

  @Override
  public boolean writeQueueFull() {
    return response.writeQueueFull();
  }

  @Override
  public void onDrain(Runnable drained) {
    response.drainHandler(v -> drained.run());
  }

  @Override
  public void pauseReading() {
  }

  @Override
  public void resumeReading() {
  }

  @Override
  public void ping() {
    if (!ended) {
      response.write(": keep-alive\n\n");
    }
  }

  @Override
  public void close(short code, String reason) {
    if (!ended && !response.ended()) {
      Future<Void> written = response.end();
      // A client that reads nothing never takes the stream's end, queued behind what it did not take.
      vertx.setTimer(CLOSING_GRACE_MS, id -> {
        if (written.isComplete()) {
          return;
        }
        if (request.version() == HttpVersion.HTTP_2) {
          // One stream of a connection other clients may share (a proxy's): only the stream goes.
          response.reset(CANCEL);
        } else {
          ClientTransport.drop(request.connection());
        }
      });
    }
    end();
  }

  @Override
  public boolean isClosed() {
    return ended;
  }

  @Override
  public void onClosed(Runnable closed) {
    this.closed = closed;
  }

  private void end() {
    if (!ended) {
      ended = true;
      closed.run();
    }
  }
}
