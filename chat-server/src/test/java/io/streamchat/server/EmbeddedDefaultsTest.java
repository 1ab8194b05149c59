package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.testkit.ChatFollower;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.Vertx;
import io.streamchat.testkit.AuditTopic;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.stream.LongStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The laptop mode: no Redis configured, the demo provider, the browser page. */
class EmbeddedDefaultsTest {

  @TempDir
  Path dataDir;

  @Test
  void aNodeWithNothingConfiguredStartsItsOwnRedisPostgresAndKafkaAnswersWithTheDemoProviderAndKeepsEverythingAcrossRestarts() throws Exception {
    int port = TestNode.freePort();
    JsonObject settings = new JsonObject().put("CHAT_HTTP_PORT", port).put("CHAT_AI_DEMO_TOKENS_PER_SECOND", 500)
        .put("CHAT_DATA_DIR", dataDir.toString()).put("CHAT_EMBEDDED_REDIS_PORT", TestNode.freePort())
        .put("CHAT_EMBEDDED_DB_PORT", TestNode.freePort()).put("CHAT_EMBEDDED_KAFKA_PORT", TestNode.freePort());
    ChatServer server = ChatServer.start(settings);
    Vertx client = Vertx.vertx();
    ChatFollower follower = new ChatFollower();
    try (TestSocket socket = TestSocket.connect(client, port, "session_id=laptop&user_id=me", follower)) {
      socket.next();
      socket.send(new JsonObject().put("type", "message").put("content", "What is Vert.x?"));
      JsonObject complete = socket.until("complete");
      assertThat(complete.getString("status")).isEqualTo("completed");
      assertThat(complete.getString("content")).contains("What is Vert.x?").contains("demo provider");
      assertThat(follower.violations()).isEmpty();
      java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
      java.util.function.Function<String, String> get = path -> http.sendAsync(
          java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + path)).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).join().body();
      assertThat(get.apply("/")).contains("/app/main.js");
      assertThat(get.apply("/app/main.js")).contains("/ws/chat");
    } finally {
      server.stop();
    }
    ChatServer restarted = ChatServer.start(settings);
    try (TestSocket socket = TestSocket.connect(client, port, "session_id=laptop", new ChatFollower())) {
      JsonObject history = socket.next();
      assertThat(history.getJsonArray("messages")).as("a restart keeps the conversation").hasSize(2);
      assertThat(history.getJsonArray("messages").getJsonObject(0).getString("content")).isEqualTo("What is Vert.x?");
      String list = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
          java.net.URI.create("http://127.0.0.1:" + port + "/api/sessions?user_id=me")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).body();
      JsonObject entry = new JsonObject(list).getJsonArray("sessions").getJsonObject(0);
      assertThat(entry.getString("session_id")).as("the conversation list survives too").isEqualTo("laptop");
      assertThat(entry.getString("title")).isEqualTo("What is Vert.x?");
      assertThat(entry.getInteger("message_count")).isEqualTo(2);
      List<AuditTopic.AuditEntry> audit = AuditTopic.await("127.0.0.1:" + settings.getInteger("CHAT_EMBEDDED_KAFKA_PORT"),
          "chat.events", "laptop", entries -> entries.stream().anyMatch(e -> "complete".equals(e.type())),
          Duration.ofSeconds(30));
      assertThat(audit.stream().map(AuditTopic.AuditEntry::seq).toList()).as("the audit log survives too")
          .isEqualTo(LongStream.rangeClosed(1, audit.size()).boxed().toList());
    } finally {
      client.close().await();
      restarted.stop();
    }
    assertThat(Files.list(dataDir.resolve("redis")).map(p -> p.getFileName().toString()))
        .contains("appendonly.aof");
    assertThat(dataDir.resolve("postgres").resolve("data").resolve("PG_VERSION")).exists();
    assertThat(dataDir.resolve("kafka").resolve("data").resolve("meta.properties")).exists();
  }
}
