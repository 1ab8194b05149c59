package io.streamchat.bench;

import io.vertx.core.Future;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import java.util.function.Consumer;
import org.HdrHistogram.Recorder;

/**
 * One simulated user: a WebSocket that follows the protocol's client rule and measures each chunk's
 * delivery latency from the emit time stamped into it by the in-process AI server. Runs on one
 * event loop of the bench's Vert.x.
 */
final class BenchSession {

  final String id;
  private final Recorder latency;
  private final Recorder firstToken;
  private WebSocket socket;
  long lastSeq = -1;
  String epoch;
  long sentAtNanos;
  boolean firstChunkSeen;
  boolean completed;
  int chunks;
  int gaps;
  int duplicates;
  int errors;
  int closedByServer;
  private boolean dropping;
  boolean recovered;
  Consumer<BenchSession> onRecovery = s -> { };
  Consumer<BenchSession> onComplete = s -> { };
  Consumer<BenchSession> onClosed = s -> { };
  Consumer<BenchSession> onStreamStart = s -> { };
  private String pendingQuestion;

  BenchSession(String id, Recorder latency, Recorder firstToken) {
    this.id = id;
    this.latency = latency;
    this.firstToken = firstToken;
  }

  Future<Void> connect(WebSocketClient client, int port) {
    String uri = "/ws/chat?session_id=" + id + (epoch == null ? "" : "&last_seq=" + lastSeq + "&epoch=" + epoch);
    return client.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port).setURI(uri))
        .map(ws -> {
          socket = ws;
          dropping = false;
          ws.textMessageHandler(this::onFrame);
          ws.exceptionHandler(e -> { });
          ws.closeHandler(v -> {
            if (ws == socket && !dropping) {
              closedByServer++;
              if (!completed) {
                onClosed.accept(this);
              }
            }
          });
          return null;
        });
  }

  /**
   * Chunk frames are most of the traffic; the load tool reads the two numbers it needs from the
   * server's fixed field order instead of parsing a tree, so that it leaves the CPU to the server.
   */
  private void onChunk(String text, long now) {
    int seqStart = text.indexOf(':', 16) + 1;
    long seq = Long.parseLong(text, seqStart, text.indexOf(',', seqStart), 10);
    if (!advance(seq)) {
      return;
    }
    chunks++;
    int at = text.lastIndexOf('@');
    if (at > 0) {
      long emitted = Long.parseLong(text, at + 1, text.indexOf(' ', at), 10);
      latency.recordValue(Math.max(0, now - emitted));
    }
    if (!firstChunkSeen) {
      firstChunkSeen = true;
      firstToken.recordValue(Math.max(0, now - sentAtNanos));
    }
  }

  /** The client rule: applies an event only if its seq is higher; counts gaps and duplicates. */
  private boolean advance(long seq) {
    if (seq <= lastSeq) {
      duplicates++;
      return false;
    }
    if (seq != lastSeq + 1) {
      gaps++;
    }
    lastSeq = seq;
    return true;
  }

  /** Sends a question as soon as the session's snapshot has arrived. */
  void ask(String question) {
    pendingQuestion = question;
  }

  /** Stops reading the socket: the server must hold the rest back without holding it in memory. */
  void pauseReading() {
    socket.pause();
  }

  void resumeReading() {
    socket.resume();
  }

  Future<Void> drop() {
    dropping = true;
    return socket == null ? Future.succeededFuture() : socket.close();
  }

  private void onFrame(String text) {
    long now = System.nanoTime();
    if (text.startsWith("{\"type\":\"chunk\",\"seq\":")) {
      onChunk(text, now);
      return;
    }
    JsonObject frame = new JsonObject(text);
    String type = frame.getString("type");
    switch (type) {
      case "history" -> {
        epoch = frame.getString("epoch");
        lastSeq = frame.getLong("seq");
        if (pendingQuestion != null) {
          sentAtNanos = System.nanoTime();
          socket.writeTextMessage(new JsonObject().put("type", "message").put("content", pendingQuestion).encode());
          pendingQuestion = null;
        }
      }
      case "recovery_status" -> {
        recovered = true;
        onRecovery.accept(this);
      }
      case "error" -> errors++;
      default -> {
        Long seq = frame.getLong("seq");
        if (seq == null) {
          return;
        }
        if (!advance(seq)) {
          return;
        }
        if ("complete".equals(type)) {
          completed = true;
          onComplete.accept(this);
        } else if ("stream_start".equals(type)) {
          onStreamStart.accept(this);
        }
      }
    }
  }
}
