package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.testkit.FakeOpenAi.Script;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Limits on callers hold across nodes: two nodes share one Redis, and a user's connections and
 * messages count on both. Refusals come before anything is appended.
 */
class CallerLimitsTest {

  private static TestNode first;
  private static ChatServer second;
  private static int secondPort;

  @BeforeAll
  static void start() throws Exception {
    first = new TestNode(new JsonObject()
        .put("CHAT_LIMIT_CONNECTIONS_PER_USER", 2)
        .put("CHAT_LIMIT_MESSAGES_PER_MINUTE", 4)
        .put("CHAT_AI_MAX_ACTIVE_PER_USER", 2)
        .put("CHAT_LIMIT_CONNECTIONS_PER_IP", 6)
        .put("CHAT_MAX_MESSAGE_CHARS", 200));
    secondPort = TestNode.freePort();
    second = ChatServer.start(first.settings().copy().put("CHAT_HTTP_PORT", secondPort).put("CHAT_NODE_ID", "second")
        .put("CHAT_MAX_CONNECTIONS_PER_NODE", 4));
  }

  @AfterAll
  static void stop() {
    second.stop();
    first.close();
  }

  private static int status(int port, String query, List<TestSocket> open) {
    return TestSocket.upgradeStatus(first.clientVertx, port, query, null, open);
  }

  @Test
  void connectionsAndMessagesOfAUserAreCountedOnEveryNode() throws Exception {
    Thread.sleep(500); // the places of the other test's sockets are given up
    List<TestSocket> open = new ArrayList<>();
    try {
      assertThat(status(first.port, "session_id=lim-1&user_id=uma", open)).isEqualTo(101);
      assertThat(status(secondPort, "session_id=lim-2&user_id=uma", open)).isEqualTo(101);
      assertThat(status(first.port, "session_id=lim-3&user_id=uma", open)).as("a third connection of uma").isEqualTo(429);
      assertThat(status(secondPort, "session_id=lim-v&user_id=vic", open)).as("another user").isEqualTo(101);
      open.remove(0).close();
      TestSocket freed = null;
      for (int attempt = 0; attempt < 50 && freed == null; attempt++) {
        if (status(first.port, "session_id=lim-3&user_id=uma", open) == 101) {
          freed = open.get(open.size() - 1);
        } else {
          Thread.sleep(100);
        }
      }
      assertThat(freed).as("a closed connection frees its place").isNotNull();

      // uma may ask for four answers a minute, wherever she asks.
      first.ai.script(Script.tokens(2, 1));
      for (TestSocket socket : open) {
        socket.until("history");
      }
      TestSocket onSecond = open.get(0);
      onSecond.send(new JsonObject().put("type", "message").put("content", "one"));
      onSecond.until("complete");
      freed.send(new JsonObject().put("type", "message").put("content", "two"));
      freed.until("complete");
      HttpResponse<String> third = first.post("/api/chat",
          new JsonObject().put("session_id", "lim-4").put("user_id", "uma").put("message", "three").encode());
      assertThat(third.statusCode()).isEqualTo(202);
      awaitAnswered("lim-4");
      onSecond.send(new JsonObject().put("type", "message").put("content", "four"));
      onSecond.until("complete");
      onSecond.send(new JsonObject().put("type", "message").put("content", "four again"));
      JsonObject refused = onSecond.until("error");
      assertThat(refused.getString("code")).isEqualTo("rate_limited");
      assertThat(refused.getLong("retry_after_ms")).isBetween(1L, 60_000L);
      assertThat(refused.getString("ref")).isEqualTo("message");
      HttpResponse<String> fifth = first.post("/api/chat",
          new JsonObject().put("session_id", "lim-5").put("user_id", "uma").put("message", "five").encode());
      assertThat(fifth.statusCode()).isEqualTo(429);
      assertThat(fifth.headers().firstValue("retry-after")).isPresent();
      // Asked of its owner: the nodes share Redis but form no cluster, and Redis gets a session's
      // newest events a moment after its clients do.
      HttpResponse<String> lim2 = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + secondPort + "/api/history/lim-2")).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(new JsonObject(lim2.body()).getJsonArray("messages")).as("nothing appended for the refused message")
          .hasSize(4);
      assertThat(first.history("lim-5").getJsonArray("messages")).isEmpty();
    } finally {
      open.forEach(TestSocket::close);
    }
  }

  @Test
  void onlyAnswersStartedCountInTheMinuteNotRepeatsOrRefusals() throws Exception {
    Thread.sleep(500);
    first.ai.script(Script.tokens(2, 1));
    try (TestSocket socket = TestSocket.connect(first.clientVertx, first.port, "session_id=rex-1&user_id=rex")) {
      socket.until("history");
      socket.send(message("first", "rex-first"));
      socket.until("complete");
      for (int i = 0; i < 4; i++) {
        socket.send(message("x".repeat(201), "rex-long-" + i));
        assertThat(socket.until("error").getString("code")).as("too long").isEqualTo("too_large");
        socket.send(new JsonObject().put("type", "continue"));
        assertThat(socket.until("error").getString("code")).as("a complete answer").isEqualTo("bad_request");
        assertNoErrorFor(socket, message("first", "rex-first"));
      }
      for (String next : List.of("second", "third", "fourth")) {
        socket.send(message(next, "rex-" + next));
        socket.until("complete");
      }
      assertNoErrorFor(socket, message("first", "rex-first"));
      socket.send(message("fifth", "rex-fifth"));
      JsonObject refused = socket.until("error");
      assertThat(refused.getString("code")).as("the fifth answer of the minute").isEqualTo("rate_limited");
      assertThat(refused.getLong("retry_after_ms")).as("the wait the owner was told: until the minute ends")
          .isBetween(30_000L, 60_000L);
      assertThat(refused.getString("message")).contains("4 messages a minute");
    }
  }

  private static JsonObject message(String content, String clientMessageId) {
    return new JsonObject().put("type", "message").put("content", content).put("client_message_id", clientMessageId);
  }

  /** A repeated message is answered by nothing at all: the next frame is the reply to a cancel sent after it. */
  private static void assertNoErrorFor(TestSocket socket, JsonObject repeat) {
    socket.send(repeat);
    socket.send(new JsonObject().put("type", "cancel"));
    assertThat(socket.next().getString("type")).as("what follows a repeat").isEqualTo("cancel_ack");
  }

  private static void awaitAnswered(String session) throws Exception {
    for (int attempt = 0; attempt < 100; attempt++) {
      JsonObject history = first.history(session);
      if (history.getJsonArray("messages").size() == 2
          && "completed".equals(history.getJsonArray("messages").getJsonObject(1).getString("status"))) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("no answer in " + session);
  }

  @Test
  void aUserStreamsOnlySoManyAnswersAtOnceAcrossNodes() throws Exception {
    Thread.sleep(500);
    first.ai.script(Script.tokens(200, 25));
    try (TestSocket a = TestSocket.connect(first.clientVertx, first.port, "session_id=wes-a&user_id=wes");
         TestSocket b = TestSocket.connect(first.clientVertx, secondPort, "session_id=wes-b&user_id=wes")) {
      a.until("history");
      b.until("history");
      a.send(new JsonObject().put("type", "message").put("content", "long one"));
      a.until("stream_start");
      b.send(new JsonObject().put("type", "message").put("content", "long two"));
      b.until("stream_start");
      JsonObject third = new JsonObject().put("session_id", "wes-c").put("user_id", "wes").put("message", "a third")
          .put("client_message_id", "third");
      HttpResponse<String> refused = first.post("/api/chat", third.encode());
      assertThat(refused.statusCode()).isEqualTo(429);
      assertThat(new JsonObject(refused.body()).getJsonObject("error").getString("code")).isEqualTo("rate_limited");
      assertThat(refused.headers().firstValue("retry-after")).isPresent();
      assertThat(first.history("wes-c").getJsonArray("messages")).as("nothing appended").isEmpty();

      b.send(new JsonObject().put("type", "cancel"));
      assertThat(b.until("complete").getString("status")).isEqualTo("cancelled");
      Thread.sleep(300);
      first.ai.script(Script.tokens(3, 1));
      assertThat(first.post("/api/chat", third.encode()).statusCode()).as("the cancelled answer's place is free")
          .isEqualTo(202);
      a.send(new JsonObject().put("type", "cancel"));
      a.until("complete");
    }
  }

  @Test
  void anAddressAndANodeHoldOnlySoManyConnections() throws Exception {
    Thread.sleep(500); // the places of the other test's sockets are given up
    List<TestSocket> open = new ArrayList<>();
    try {
      for (int i = 0; i < 4; i++) {
        assertThat(status(secondPort, "session_id=full-" + i, open)).isEqualTo(101);
      }
      assertThat(status(secondPort, "session_id=full-4", open)).as("the node is full").isEqualTo(503);
      for (int i = 0; i < 2; i++) {
        assertThat(status(first.port, "session_id=addr-" + i + "&user_id=addr-user-" + i, open)).isEqualTo(101);
      }
      assertThat(status(first.port, "session_id=addr-2&user_id=addr-user-2", open)).as("the address is full")
          .isEqualTo(429);
      assertThat(status(first.port, "session_id=addr-3", open)).as("anonymous callers count too").isEqualTo(429);
    } finally {
      open.forEach(TestSocket::close);
    }
  }
}
