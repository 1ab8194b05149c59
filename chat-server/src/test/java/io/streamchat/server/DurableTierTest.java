package io.streamchat.server;

import static io.streamchat.server.StreamingProtocolTest.message;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.durable.EmbeddedPostgresServer;
import io.streamchat.testkit.ChatFollower;
import io.streamchat.testkit.FakeOpenAi.Script;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The durable tier on a real node with real Redis and a real PostgreSQL: conversations outlive
 * Redis, the conversation list, rename and delete.
 */
class DurableTierTest {

  private static EmbeddedPostgresServer postgres;
  private static TestNode node;
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    postgres = EmbeddedPostgresServer.start();
    node = new TestNode(new JsonObject().put("CHAT_DB_URL", postgres.url()));
  }

  @AfterAll
  static void stop() {
    node.close();
    postgres.close();
  }

  private static JsonObject conversation(String userId, String sessionId) throws Exception {
    HttpResponse<String> list = node.get("/api/sessions?user_id=" + userId);
    assertThat(list.statusCode()).isEqualTo(200);
    return new JsonObject(list.body()).getJsonArray("sessions").stream().map(JsonObject.class::cast)
        .filter(entry -> sessionId.equals(entry.getString("session_id"))).findFirst().orElse(null);
  }

  /** The conversation list is written behind delivery: wait until it shows what was said. */
  private static JsonObject awaitConversation(String userId, String sessionId, int messages) throws Exception {
    long deadline = System.currentTimeMillis() + 10_000;
    while (true) {
      JsonObject entry = conversation(userId, sessionId);
      if (entry != null && entry.getInteger("message_count") == messages && !entry.getBoolean("streaming")) {
        return entry;
      }
      assertThat(System.currentTimeMillis()).as("the list shows %d messages of %s", messages, sessionId)
          .isLessThan(deadline);
      Thread.sleep(50);
    }
  }

  private static void ask(TestSocket socket, String content) {
    socket.send(message(content, null));
    assertThat(socket.until("complete").getString("status")).isEqualTo("completed");
  }


  @Test
  void aConversationRedisForgotComesBackUnchangedFromPostgresAndGoesOn() throws Exception {
    node.ai.script(Script.tokens(6, 2));
    try (TestSocket socket = node.connect("session_id=kept&user_id=alice", new ChatFollower())) {
      socket.next();
      socket.send(message("Hello there\nwith a second line", "c-1"));
      assertThat(socket.until("complete").getString("status")).isEqualTo("completed");
      ask(socket, "And again");
    }
    JsonObject entry = awaitConversation("alice", "kept", 4);
    assertThat(entry.getString("title")).isEqualTo("Hello there");
    JsonObject before = node.history("kept");

    node.server.stop();
    node.flushRedis();
    node.server = ChatServer.start(node.settings());
    JsonObject after = node.history("kept");
    assertThat(after.getString("epoch")).as("a new epoch: the log is gone").isNotEqualTo(before.getString("epoch"));
    assertThat(after.getJsonArray("messages")).as("the history is what it was").isEqualTo(before.getJsonArray("messages"));

    ChatFollower follower = new ChatFollower();
    try (TestSocket socket = node.connect("session_id=kept&user_id=alice", follower)) {
      assertThat(socket.next().getJsonArray("messages")).hasSize(4);
      socket.send(message("Hello there\nwith a second line", "c-1"));
      socket.send(new JsonObject().put("type", "ping"));
      assertThat(socket.next().getString("type")).as("a client_message_id seen before the flush is still known")
          .isEqualTo("pong");
      ask(socket, "Still there?");
    }
    JsonArray context = node.ai.requests().get(node.ai.requests().size() - 1).getJsonArray("messages");
    assertThat(context.getJsonObject(0).getString("content")).as("the provider is given the whole conversation")
        .isEqualTo("Hello there\nwith a second line");
    assertThat(context).hasSize(5);
    awaitConversation("alice", "kept", 6);
    assertThat(follower.violations()).isEmpty();
  }

  @Test
  void aConversationIsListedAndCanBeRenamedAsSoonAsItsFirstMessageIsAccepted() throws Exception {
    node.ai.script(Script.tokens(3, 2));
    for (int i = 0; i < 5; i++) {
      String session = "at-once-" + i;
      HttpResponse<String> sent = node.post("/api/chat",
          new JsonObject().put("session_id", session).put("user_id", "cara").put("message", "first words " + i).encode());
      assertThat(sent.statusCode()).isEqualTo(202);
      JsonObject listed = conversation("cara", session);
      assertThat(listed).as("listed right after the 202").isNotNull();
      assertThat(listed.getString("title")).isEqualTo("first words " + i);
      assertThat(patch("/api/sessions/" + session, "{\"title\":\"renamed " + i + "\"}").statusCode())
          .as("renamed right after the 202").isEqualTo(200);
    }
  }

  @Test
  void theListShowsAChangeMadeOverTheApiAsSoonAsItIsReplied() throws Exception {
    // Answers long enough to be streaming when the next request comes.
    node.ai.script(Script.tokens(400, 5));
    for (int i = 0; i < 5; i++) {
      String session = "read-own-" + i;
      assertThat(node.post("/api/chat", new JsonObject().put("session_id", session).put("user_id", "dora")
          .put("message", "question " + i).encode()).statusCode()).isEqualTo(202);
      JsonObject asked = conversation("dora", session);
      assertThat(asked.getInteger("message_count")).isEqualTo(1);
      assertThat(asked.getBoolean("streaming")).as("streaming right after the 202").isTrue();

      HttpResponse<String> cancelled = node.post("/api/chat/cancel",
          new JsonObject().put("session_id", session).put("user_id", "dora").encode());
      assertThat(new JsonObject(cancelled.body()).getString("status")).isEqualTo("cancelling");
      JsonObject ended = conversation("dora", session);
      assertThat(ended.getBoolean("streaming")).as("not streaming right after the cancel's reply").isFalse();
      assertThat(ended.getInteger("message_count")).as("the cancelled answer is counted").isEqualTo(2);

      assertThat(node.post("/api/chat", new JsonObject().put("session_id", session).put("user_id", "dora")
          .put("message", "again " + i).encode()).statusCode()).isEqualTo(202);
      JsonObject again = conversation("dora", session);
      assertThat(again.getInteger("message_count")).as("a second question counted right after its 202").isEqualTo(3);
      assertThat(again.getBoolean("streaming")).isTrue();
      node.post("/api/chat/cancel", new JsonObject().put("session_id", session).put("user_id", "dora").encode());
    }
  }

  @Test
  void theListIsTheUsersNewestFirstAndItCanBeRenamedAndDeleted() throws Exception {
    node.ai.script(Script.tokens(3, 2));
    for (String session : List.of("list-a", "list-b")) {
      try (TestSocket socket = node.connect("session_id=" + session + "&user_id=bob", new ChatFollower())) {
        socket.next();
        ask(socket, "topic " + session);
      }
      awaitConversation("bob", session, 2);
    }
    JsonArray sessions = new JsonObject(node.get("/api/sessions?user_id=bob").body()).getJsonArray("sessions");
    assertThat(sessions.stream().map(s -> ((JsonObject) s).getString("session_id")).toList())
        .containsExactly("list-b", "list-a");
    JsonObject page = new JsonObject(node.get("/api/sessions?user_id=bob&limit=1&before="
        + sessions.getJsonObject(0).getString("updated_at")).body());
    assertThat(page.getJsonArray("sessions")).hasSize(1);
    assertThat(page.getJsonArray("sessions").getJsonObject(0).getString("session_id")).isEqualTo("list-a");
    assertThat(node.get("/api/sessions").statusCode()).as("no user").isEqualTo(400);
    assertThat(node.get("/api/sessions?user_id=bob&limit=0").statusCode()).isEqualTo(400);

    HttpResponse<String> renamed = patch("/api/sessions/list-a", "{\"title\":\"A better name\"}");
    assertThat(renamed.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(renamed.body()).getString("title")).isEqualTo("A better name");
    assertThat(conversation("bob", "list-a").getString("title")).isEqualTo("A better name");
    assertThat(patch("/api/sessions/list-a", "{\"title\":\"\"}").statusCode()).isEqualTo(400);
    assertThat(patch("/api/sessions/nobody-here", "{\"title\":\"x\"}").statusCode()).isEqualTo(404);

    try (TestSocket open = node.connect("session_id=list-a&user_id=bob", new ChatFollower())) {
      open.next();
      assertThat(delete("/api/sessions/list-a").statusCode()).isEqualTo(204);
      JsonObject error = open.until("error");
      assertThat(error.getString("code")).isEqualTo("not_found");
      assertThat(open.awaitClose(Duration.ofSeconds(5))).isEqualTo((short) 1000);
    }
    assertThat(conversation("bob", "list-a")).as("gone from the list").isNull();
    JsonObject history = node.history("list-a");
    assertThat(history.getJsonArray("messages")).as("the id starts a new conversation").isEmpty();
    assertThat(delete("/api/sessions/never-was").statusCode()).isEqualTo(404);
  }

  @Test
  void textWithUPlus0000IsKeptAndHoldsUpNoOtherConversation() throws Exception {
    node.ai.script(Script.tokens(3, 2));
    try (TestSocket socket = node.connect("session_id=nul-1&user_id=dana", new ChatFollower())) {
      socket.next();
      socket.send(message("before\u0000after", null));
      assertThat(socket.until("user_message").getString("content")).isEqualTo("before\u0000after");
      assertThat(socket.until("complete").getString("status")).isEqualTo("completed");
    }
    assertThat(awaitConversation("dana", "nul-1", 2).getString("title"))
        .as("PostgreSQL text cannot hold U+0000: the title shows U+FFFD").isEqualTo("before\uFFFDafter");
    try (TestSocket socket = node.connect("session_id=nul-2&user_id=dana", new ChatFollower())) {
      socket.next();
      ask(socket, "the next conversation");
    }
    awaitConversation("dana", "nul-2", 2);
    assertThat(node.history("nul-1").getJsonArray("messages").getJsonObject(0).getString("content"))
        .isEqualTo("before\u0000after");
    HttpResponse<String> renamed = patch("/api/sessions/nul-1", "{\"title\":\"a\\u0000b\"}");
    assertThat(renamed.statusCode()).isEqualTo(400);
    assertThat(new JsonObject(renamed.body()).getJsonObject("error").getString("code")).isEqualTo("bad_request");
  }

  @Test
  void deletingASessionWithNoConversationIs404AndChangesNothing() throws Exception {
    try (TestSocket open = node.connect("session_id=empty-1&user_id=erin", new ChatFollower())) {
      String epoch = open.next().getString("epoch");
      HttpResponse<String> deleted = delete("/api/sessions/empty-1?user_id=erin");
      assertThat(deleted.statusCode()).isEqualTo(404);
      assertThat(new JsonObject(deleted.body()).getJsonObject("error").getString("code")).isEqualTo("not_found");
      open.send(new JsonObject().put("type", "ping"));
      assertThat(open.next().getString("type")).as("the socket stays open, told nothing").isEqualTo("pong");
      assertThat(node.history("empty-1").getString("epoch")).as("the same conversation").isEqualTo(epoch);
    }
  }

  private static HttpResponse<String> patch(String path, String body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port + path))
        .header("content-type", "application/json").method("PATCH", HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> delete(String path) throws Exception {
    return node.delete(path);
  }
}
