package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.testkit.ChatFollower;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

/** The laptop mode: no Redis configured, the demo provider, the browser page. */
class EmbeddedDefaultsTest {

  @Test
  void aNodeWithNothingConfiguredStartsItsOwnRedisAndAnswersWithTheDemoProvider() throws Exception {
    int port = TestNode.freePort();
    ChatServer server = ChatServer.start(new JsonObject().put("CHAT_HTTP_PORT", port)
        .put("CHAT_AI_DEMO_TOKENS_PER_SECOND", 500));
    Vertx client = Vertx.vertx();
    ChatFollower follower = new ChatFollower();
    try (TestSocket socket = TestSocket.connect(client, port, "session_id=laptop", follower)) {
      socket.next();
      socket.send(new JsonObject().put("type", "message").put("content", "What is Vert.x?"));
      JsonObject complete = socket.until("complete");
      assertThat(complete.getString("status")).isEqualTo("completed");
      assertThat(complete.getString("content")).contains("What is Vert.x?").contains("demo provider");
      assertThat(follower.violations()).isEmpty();
      String page = java.net.http.HttpClient.newHttpClient().send(
          java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).body();
      assertThat(page).contains("/ws/chat");
    } finally {
      client.close().await();
      server.stop();
    }
  }
}
