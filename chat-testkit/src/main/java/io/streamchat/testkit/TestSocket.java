package io.streamchat.testkit;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientWebSocket;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A blocking WebSocket client for tests: frames are queued as they arrive; every frame must be
 * whole JSON (anything else is recorded as malformed). A {@link ChatFollower} may watch the frames.
 */
public final class TestSocket implements AutoCloseable {

  private final WebSocketClient client;
  private final BlockingQueue<JsonObject> frames = new LinkedBlockingQueue<>();
  private final List<String> malformed = new CopyOnWriteArrayList<>();
  private final ChatFollower follower;
  private volatile WebSocket socket;
  private volatile Short closeCode;
  private volatile boolean closed;

  private TestSocket(WebSocketClient client, ChatFollower follower) {
    this.client = client;
    this.follower = follower;
  }

  /** Connects to {@code /ws/chat?<query>}; throws with the HTTP status when the upgrade is refused. */
  public static TestSocket connect(Vertx vertx, int port, String query, ChatFollower follower) {
    return connect(vertx, port, query, follower, null);
  }

  /** As {@link #connect(Vertx, int, String, ChatFollower)}, as a page of {@code origin} would (null: the client's own). */
  public static TestSocket connect(Vertx vertx, int port, String query, ChatFollower follower, String origin) {
    WebSocketClient client = vertx.createWebSocketClient(new WebSocketClientOptions()
        .setMaxFrameSize(16 * 1024 * 1024).setMaxMessageSize(64 * 1024 * 1024));
    TestSocket test = new TestSocket(client, follower);
    WebSocketConnectOptions options = new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port)
        .setURI("/ws/chat?" + query);
    if (origin != null) {
      options.addHeader("Origin", origin);
    }
    try {
      // The handlers are set before the connection exists: frames that come with the handshake's
      // response cannot arrive before them.
      ClientWebSocket ws = client.webSocket();
      ws.textMessageHandler(test::onText);
      ws.binaryMessageHandler(b -> test.malformed.add("binary frame"));
      ws.closeHandler(v -> {
        test.closeCode = ws.closeStatusCode();
        test.closed = true;
      });
      test.socket = ws.connect(options).await(10, TimeUnit.SECONDS);
    } catch (RuntimeException e) {
      client.close();
      throw e;
    } catch (Exception e) {
      client.close();
      throw new IllegalStateException(e);
    }
    return test;
  }

  /**
   * The HTTP status of an upgrade to {@code /ws/chat?<query>}, as a page of {@code origin} (null: the
   * client's own): 101 when it opened (the socket is then added to {@code open}), else the refusal's.
   */
  public static int upgradeStatus(Vertx vertx, int port, String query, String origin, List<TestSocket> open) {
    try {
      open.add(connect(vertx, port, query, null, origin));
      return 101;
    } catch (RuntimeException e) {
      Throwable cause = e;
      while (cause != null && !(cause instanceof io.vertx.core.http.UpgradeRejectedException)) {
        cause = cause.getCause();
      }
      if (cause == null) {
        throw e;
      }
      return ((io.vertx.core.http.UpgradeRejectedException) cause).getStatus();
    }
  }

  public static TestSocket connect(Vertx vertx, int port, String query) {
    return connect(vertx, port, query, null);
  }

  private void onText(String text) {
    JsonObject frame;
    try {
      frame = new JsonObject(text);
    } catch (DecodeException e) {
      malformed.add(text);
      return;
    }
    frames.add(frame);
  }

  public void send(String text) {
    socket.writeTextMessage(text).await();
  }

  public void send(JsonObject json) {
    send(json.encode());
  }

  public void sendBinary(Buffer data) {
    socket.writeBinaryMessage(data).await();
  }

  /**
   * The next frame, or null when none comes within the timeout. A frame counts as received by the
   * client, and is applied to its follower, when the test takes it.
   */
  public JsonObject poll(Duration timeout) {
    try {
      JsonObject frame = frames.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (frame != null && follower != null) {
        follower.apply(frame);
      }
      return frame;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The next frame; fails when none comes within ten seconds. */
  public JsonObject next() {
    JsonObject frame = poll(Duration.ofSeconds(10));
    if (frame == null) {
      throw new AssertionError("no frame within 10 s" + (closed ? " (socket closed with " + closeCode + ")" : ""));
    }
    return frame;
  }

  /** Frames up to and including the first that matches; fails after the timeout. */
  public JsonObject until(Predicate<JsonObject> match, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      JsonObject frame = left > 0 ? poll(Duration.ofNanos(left)) : null;
      if (frame == null) {
        throw new AssertionError("no matching frame within " + timeout);
      }
      if (match.test(frame)) {
        return frame;
      }
    }
  }

  /** Every frame up to and including the first that matches. */
  public List<JsonObject> takeUntil(Predicate<JsonObject> match, Duration timeout) {
    List<JsonObject> taken = new java.util.ArrayList<>();
    until(frame -> {
      taken.add(frame);
      return match.test(frame);
    }, timeout);
    return taken;
  }

  public List<JsonObject> takeUntil(String type) {
    return takeUntil(f -> type.equals(f.getString("type")), Duration.ofSeconds(30));
  }

  public JsonObject until(String type) {
    return until(f -> type.equals(f.getString("type")), Duration.ofSeconds(20));
  }

  public List<String> malformed() {
    return malformed;
  }

  public boolean isClosed() {
    return closed;
  }

  public Short closeCode() {
    return closeCode;
  }

  /** Waits for the server to close the socket and returns the close code. */
  public Short awaitClose(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!closed && System.nanoTime() < deadline) {
      poll(Duration.ofMillis(20));
    }
    return closeCode;
  }

  @Override
  public void close() {
    WebSocket ws = socket;
    if (ws != null && !closed) {
      try {
        ws.close().await(5, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // already gone
      }
    }
    client.close();
  }
}
