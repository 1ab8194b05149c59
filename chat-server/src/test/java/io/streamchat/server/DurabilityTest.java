package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.testkit.PrometheusText;
import io.streamchat.testkit.ChatFollower;
import io.streamchat.testkit.FakeOpenAi.Script;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What is stored survives Redis hanging, passivation and a graceful restart, and agrees with what clients saw. */
class DurabilityTest {

  private TestNode node;

  @BeforeEach
  void start() throws Exception {
    node = new TestNode(new JsonObject().put("CHAT_SESSION_IDLE_MS", 300));
  }

  @AfterEach
  void stop() {
    node.close();
  }

  @Test
  void redisHangingForFiveSecondsNeitherStopsLiveChunksNorLosesThem() throws Exception {
    node.ai.script(Script.tokens(250, 30));
    TreeMap<Long, JsonObject> seen = new TreeMap<>();
    ChatFollower follower = new ChatFollower();
    try (TestSocket socket = node.connect("session_id=redis-outage", follower)) {
      socket.next();
      socket.send(new JsonObject().put("type", "message").put("content", "survive this"));
      for (JsonObject frame : socket.takeUntil("chunk")) {
        record(seen, frame);
      }
      node.redis.pause();
      int chunksDuringOutage = 0;
      long until = System.currentTimeMillis() + 5000;
      try {
        while (System.currentTimeMillis() < until) {
          JsonObject frame = socket.poll(Duration.ofMillis(100));
          if (frame != null) {
            record(seen, frame);
            chunksDuringOutage += "chunk".equals(frame.getString("type")) ? 1 : 0;
          }
        }
      } finally {
        node.redis.resume();
      }
      assertThat(chunksDuringOutage).as("live chunks while Redis hangs").isGreaterThan(50);
      for (JsonObject frame : socket.takeUntil("complete")) {
        record(seen, frame);
      }
    }
    assertThat(follower.violations()).isEmpty();
    // The gauge is counted once a second: a count of 0 taken just before the last events were
    // delivered says nothing of them, so the log is read once it holds the last event seen.
    long lastSeen = seen.lastKey();
    List<JsonObject> stored = StoredLog.readThrough(node.clientVertx, node.redis.url(), "redis-outage", lastSeen);
    awaitMetric("chat_cache_pending_events", 0);
    assertThat(stored).extracting(e -> e.getLong("seq")).containsExactlyElementsOf(seen.keySet());
    assertThat(stored).containsExactlyElementsOf(seen.values());
    JsonArray messages = node.history("redis-outage").getJsonArray("messages");
    JsonObject answer = messages.getJsonObject(1);
    assertThat(answer.getString("status")).isEqualTo("completed");
    assertThat(answer.getString("content")).isEqualTo(StreamingProtocolTest.expectedAnswer(250));
    assertThat(metric("chat_cache_append_retries_total")).isPositive();
  }

  @Test
  void passivatedSessionComesBackWithItsHistoryEpochAndSeq() throws Exception {
    node.ai.script(Script.tokens(10, 1));
    ChatFollower follower = new ChatFollower();
    try (TestSocket socket = node.follow("passive", follower)) {
      socket.next();
      socket.send(new JsonObject().put("type", "message").put("content", "first"));
      socket.until("complete");
    }
    String epoch = follower.epoch();
    awaitMetric("chat_sessions_owned", 0);

    try (TestSocket socket = node.follow("passive", follower)) {
      JsonObject status = socket.next();
      assertThat(status.getString("status")).isEqualTo("recovered");
      assertThat(status.getLong("seq")).isEqualTo(follower.seq());
      socket.send(new JsonObject().put("type", "message").put("content", "second"));
      JsonObject user = socket.until("user_message");
      assertThat(user.getLong("seq")).isEqualTo(14);
      socket.until("complete");
    }
    assertThat(follower.epoch()).isEqualTo(epoch);
    assertThat(follower.violations()).isEmpty();
    JsonObject history = node.history("passive");
    assertThat(history.getString("epoch")).isEqualTo(epoch);
    assertThat(history.getLong("seq")).isEqualTo(26);
    assertThat(history.getJsonArray("messages")).hasSize(4);
  }

  @Test
  void gracefulRestartClosesSocketsWith1012AndKeepsTheEpoch() throws Exception {
    node.ai.script(Script.tokens(10, 1));
    ChatFollower follower = new ChatFollower();
    TestSocket socket = node.follow("restart", follower);
    socket.next();
    socket.send(new JsonObject().put("type", "message").put("content", "before restart"));
    socket.until("complete");
    node.restart();
    assertThat(socket.awaitClose(Duration.ofSeconds(5))).isEqualTo((short) 1012);
    socket.close();
    try (TestSocket again = node.follow("restart", follower)) {
      JsonObject status = again.next();
      assertThat(status.getString("status")).isEqualTo("recovered");
      again.send(new JsonObject().put("type", "message").put("content", "after restart"));
      again.until("complete");
    }
    assertThat(follower.violations()).isEmpty();
    assertThat(node.history("restart").getJsonArray("messages")).hasSize(4);
  }

  private static void record(Map<Long, JsonObject> seen, JsonObject frame) {
    if (frame.getLong("seq") != null && !"history".equals(frame.getString("type"))
        && !"recovery_status".equals(frame.getString("type"))) {
      seen.put(frame.getLong("seq"), frame);
    }
  }

  private long metric(String name) throws Exception {
    return (long) PrometheusText.parse(node.get("/metrics").body()).sum(name);
  }

  private void awaitMetric(String name, long value) throws Exception {
    long deadline = System.currentTimeMillis() + 10_000;
    while (metric(name) != value) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError(name + " is " + metric(name) + ", expected " + value);
      }
      Thread.sleep(50);
    }
  }
}
