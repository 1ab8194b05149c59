package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.streamchat.testkit.ChatFollower;
import io.streamchat.testkit.FakeOpenAi.Script;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Operators scale each role's verticle instances on their own: counts that differ from role to role
 * and from the number of event loops still give every session one owner, exact answers across a
 * dropped socket, and cancels that are acknowledged. The node says at start what it runs.
 */
class VerticleInstancesTest {

  private static final int SESSIONS = 24;
  private static final int TOKENS = 120;

  @Test
  void unevenInstanceCountsPerRoleStreamResumeAndCancelExactly() throws Exception {
    JsonObject instances = new JsonObject()
        .put("CHAT_EVENT_LOOPS", 2)
        .put("CHAT_GATEWAY_INSTANCES", 1)
        .put("CHAT_SESSION_INSTANCES", 3)
        .put("CHAT_CACHE_INSTANCES", 1)
        .put("CHAT_AI_BRIDGE_INSTANCES", 5);
    Logger log = (Logger) LoggerFactory.getLogger(ChatServer.class);
    ListAppender<ILoggingEvent> events = new ListAppender<>();
    events.start();
    log.addAppender(events);
    TestNode started;
    try {
      started = new TestNode(instances);
    } finally {
      log.detachAppender(events);
    }
    try (TestNode node = started) {
      assertThat(events.list).extracting(ILoggingEvent::getFormattedMessage).as("what the node says it started")
          .anyMatch(line -> line.startsWith("Node test-node started with cache ×1, session ×3, ai-bridge ×5, gateway ×1 "
              + "on 2 event loops"));
      node.ai.script(Script.tokens(TOKENS, 20));
      Map<String, ChatFollower> followers = new LinkedHashMap<>();
      List<TestSocket> sockets = new ArrayList<>();
      for (int i = 0; i < SESSIONS; i++) {
        String session = "instances-" + i;
        ChatFollower follower = new ChatFollower();
        followers.put(session, follower);
        TestSocket socket = node.follow(session, follower);
        assertThat(socket.next().getString("type")).isEqualTo("history");
        socket.send(StreamingProtocolTest.message("question " + i, "q-" + i));
        if (cancels(i)) {
          socket.until("chunk");
          socket.send(new JsonObject().put("type", "cancel").put("message_id", follower.lastAnswer().id));
          assertThat(socket.until("cancel_ack").getString("status")).isEqualTo("cancelling");
        }
        sockets.add(socket);
      }
      int i = 0;
      for (Map.Entry<String, ChatFollower> entry : followers.entrySet()) {
        boolean cancelled = cancels(i);
        try (TestSocket socket = sockets.get(i++)) {
          socket.until(frame -> "chunk".equals(frame.getString("type")) || "complete".equals(frame.getString("type")),
              Duration.ofSeconds(10));
        }
        try (TestSocket resumed = node.follow(entry.getKey(), entry.getValue())) {
          assertThat(resumed.next().getString("type")).as("the first frame of a resume").isEqualTo("recovery_status");
          while (entry.getValue().lastAnswer().status.equals("streaming")) {
            resumed.until("complete");
          }
        }
        ChatFollower follower = entry.getValue();
        assertThat(follower.violations()).as(entry.getKey()).isEmpty();
        JsonObject history = node.history(entry.getKey());
        JsonArray messages = history.getJsonArray("messages");
        assertThat(messages).hasSize(2);
        JsonObject stored = messages.getJsonObject(1);
        assertThat(follower.lastAnswer().content.toString()).as(entry.getKey()).isEqualTo(stored.getString("content"));
        assertThat(follower.lastAnswer().status).isEqualTo(stored.getString("status"));
        if (cancelled) {
          assertThat(stored.getString("status")).isEqualTo("cancelled");
        } else {
          assertThat(stored.getString("content")).isEqualTo(StreamingProtocolTest.expectedAnswer(TOKENS));
          assertThat(stored.getString("status")).isEqualTo("completed");
        }
        assertThat(follower.seq()).isEqualTo(history.getLong("seq"));
      }
    }
  }

  private static boolean cancels(int session) {
    return session % 4 == 3;
  }

}
