package io.streamchat.server;

import io.streamchat.cache.EmbeddedRedis;
import io.streamchat.testkit.ChatFollower;
import io.streamchat.testkit.FakeOpenAi;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** One real node for tests: its own Redis process, a scripted OpenAI-compatible server, and HTTP helpers. */
final class TestNode implements AutoCloseable, BeforeAllCallback, AfterAllCallback {

  EmbeddedRedis redis;
  Vertx clientVertx;
  FakeOpenAi ai;
  int port;
  ChatServer server;
  private final JsonObject overrides;
  private JsonObject settings;
  /** HTTP/1.1, as browsers and Prometheus speak to the node (they never upgrade to h2c). */
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  /** A node started now. */
  TestNode(JsonObject overrides) throws Exception {
    this.overrides = overrides;
    start();
  }

  private TestNode(JsonObject overrides, boolean unstarted) {
    this.overrides = overrides;
  }

  /** A node for {@code @RegisterExtension}: started before the test class's tests, closed after them. */
  static TestNode perClass(JsonObject overrides) {
    return new TestNode(overrides, true);
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    start();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }

  private void start() throws Exception {
    redis = EmbeddedRedis.start();
    clientVertx = Vertx.vertx();
    ai = FakeOpenAi.start(clientVertx);
    port = freePort();
    settings = new JsonObject()
        .put("CHAT_HTTP_PORT", port)
        .put("CHAT_HTTP_HOST", "127.0.0.1")
        .put("CHAT_NODE_ID", "test-node")
        .put("CHAT_REDIS_URL", redis.url())
        .put("CHAT_DB_URL", "none")
        .put("CHAT_KAFKA_BOOTSTRAP", "none")
        .put("CHAT_REDIS_TIMEOUT_MS", 500)
        .put("CHAT_AI_PROVIDER", "openai")
        .put("CHAT_AI_BASE_URL", ai.baseUrl())
        .put("CHAT_AI_MODEL", "test-model")
        .mergeIn(overrides);
    server = ChatServer.start(settings);
  }

  JsonObject settings() {
    return settings;
  }

  void restart() throws Exception {
    server.stop();
    server = ChatServer.start(settings);
  }

  TestSocket connect(String query) {
    return TestSocket.connect(clientVertx, port, query);
  }

  TestSocket connect(String query, ChatFollower follower) {
    return TestSocket.connect(clientVertx, port, query, follower);
  }

  /** Connects as the protocol's client rule says: with the follower's cursor when it has one. */
  TestSocket follow(String sessionId, ChatFollower follower) {
    String query = "session_id=" + sessionId;
    if (follower.hasCursor()) {
      query += "&last_seq=" + follower.seq() + "&epoch=" + follower.epoch();
    }
    return connect(query, follower);
  }

  HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> delete(String path) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).DELETE().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Redis forgets everything, as after a flush or a new instance. */
  void flushRedis() {
    io.vertx.redis.client.Redis client = io.vertx.redis.client.Redis.createClient(clientVertx, redis.url());
    try {
      io.vertx.redis.client.RedisAPI.api(client).flushall(java.util.List.of()).await();
    } finally {
      client.close();
    }
  }

  JsonObject history(String sessionId) throws IOException, InterruptedException {
    HttpResponse<String> response = get("/api/history/" + sessionId);
    if (response.statusCode() != 200) {
      throw new AssertionError("history: HTTP " + response.statusCode() + " " + response.body());
    }
    return new JsonObject(response.body());
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  @Override
  public void close() {
    if (server != null) {
      server.stop();
    }
    ai.close();
    clientVertx.close().await();
    redis.close();
  }
}
