package io.streamchat.server;

import static io.streamchat.server.StreamingProtocolTest.message;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.audit.EmbeddedKafka;
import io.streamchat.testkit.PrometheusText;
import io.streamchat.testkit.AuditTopic;
import io.streamchat.testkit.AuditTopic.AuditEntry;
import io.streamchat.testkit.ChatFollower;
import io.streamchat.testkit.FakeOpenAi.Script;
import io.streamchat.testkit.KafkaProcess;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Kafka audit log on a real node with a real Kafka and Redis: every stored event once, in seq
 * order per session, with the fields and header the protocol names; the deletion record.
 */
class AuditLogTest {

  private static final String TOPIC = "chat.events";
  private static EmbeddedKafka kafka;
  private static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    kafka = EmbeddedKafka.start();
    node = new TestNode(new JsonObject().put("CHAT_KAFKA_BOOTSTRAP", kafka.bootstrap()));
  }

  @AfterAll
  static void stop() {
    node.close();
    kafka.close();
  }

  /** The session's records once the topic holds its stored log up to {@code lastSeq}. */
  static List<AuditEntry> awaitAudited(String bootstrap, String sessionId, long lastSeq) throws InterruptedException {
    return AuditTopic.await(bootstrap, TOPIC, sessionId,
        entries -> entries.stream().anyMatch(e -> e.seq() == lastSeq), Duration.ofSeconds(60));
  }

  /** Each stored event is in the topic once, in order, as stored plus the session, user, node and epoch. */
  static void assertExactlyTheStoredLog(List<JsonObject> stored, List<AuditEntry> records, String sessionId,
                                        String userId) {
    assertThat(records).as("one record per stored event of %s", sessionId).hasSize(stored.size());
    for (int i = 0; i < stored.size(); i++) {
      AuditEntry record = records.get(i);
      JsonObject event = stored.get(i);
      assertThat(record.seq()).as("record %d of %s", i, sessionId).isEqualTo(i + 1L);
      assertThat(record.type()).isEqualTo(event.getString("type"));
      JsonObject value = record.value().copy();
      assertThat(value.remove("session_id")).isEqualTo(sessionId);
      assertThat(value.remove("user_id")).isEqualTo(userId);
      assertThat((String) value.remove("node_id")).isNotBlank();
      assertThat((String) value.remove("epoch")).isNotBlank();
      assertThat(value).isEqualTo(event);
    }
  }

  @Test
  void aConversationWithACancelAProviderFailureAndAnHttpMessageIsInTheTopicOnceInOrder() throws Exception {
    String session = "audited";
    long lastComplete;
    try (TestSocket socket = node.connect("session_id=" + session + "&user_id=alice", new ChatFollower())) {
      socket.next();
      node.ai.script(Script.tokens(12, 2));
      socket.send(message("first question", "c-1"));
      assertThat(socket.until("complete").getString("status")).isEqualTo("completed");

      node.ai.script(Script.tokens(400, 10));
      socket.send(message("a long one", "c-2"));
      String answer = socket.until("stream_start").getString("message_id");
      socket.until("chunk");
      socket.send(new JsonObject().put("type", "cancel").put("message_id", answer));
      assertThat(socket.until("complete").getString("status")).isEqualTo("cancelled");

      node.ai.script(Script.tokens(5, 2).withStatus(500));
      socket.send(message("this one fails", "c-3"));
      assertThat(socket.until("complete").getString("status")).isEqualTo("failed");

      node.ai.script(Script.tokens(7, 2));
      assertThat(node.post("/api/chat", new JsonObject().put("session_id", session).put("user_id", "alice")
          .put("message", "over HTTP").encode()).statusCode()).isEqualTo(202);
      JsonObject complete = socket.until("complete");
      assertThat(complete.getString("status")).isEqualTo("completed");
      lastComplete = complete.getLong("seq");
    }
    List<JsonObject> stored = StoredLog.readThrough(node.clientVertx, node.redis.url(), session, lastComplete);
    long lastSeq = stored.get(stored.size() - 1).getLong("seq");
    List<AuditEntry> records = awaitAudited(kafka.bootstrap(), session, lastSeq);
    assertExactlyTheStoredLog(stored, records, session, "alice");
    assertThat(records.stream().map(AuditEntry::type).distinct())
        .containsExactlyInAnyOrder("user_message", "stream_start", "chunk", "complete");
    assertThat(records.stream().map(r -> r.value().getString("epoch")).distinct()).hasSize(1);
    JsonObject history = node.history(session);
    java.util.Map<String, JsonObject> messages = new java.util.LinkedHashMap<>();
    for (AuditEntry record : records) {
      if (record.message() != null) {
        JsonObject message = new JsonObject(record.message());
        if ("complete".equals(record.type())) {
          assertThat(message.containsKey("content")).as("an answer's end carries its text once, in the value").isFalse();
          message.put("content", record.value().getString("content"));
        }
        messages.put(message.getString("message_id"), message);
      }
    }
    assertThat(records.stream().filter(r -> r.message() != null).map(AuditEntry::type).distinct())
        .as("events that change a message carry it").containsExactlyInAnyOrder("user_message", "stream_start",
            "complete");
    assertThat(List.copyOf(messages.values())).as("the messages the records carry, newest version of each, are the history")
        .isEqualTo(history.getJsonArray("messages").stream().map(JsonObject.class::cast).toList());
  }

  @Test
  void eventsBeyondTheBoundOfAKafkaOutageAreCountedAndTheRestFollowsInOrder() throws Exception {
    try (KafkaProcess outage = KafkaProcess.start();
         TestNode bounded = new TestNode(new JsonObject().put("CHAT_KAFKA_BOOTSTRAP", outage.bootstrap())
             .put("CHAT_KAFKA_DELIVERY_TIMEOUT_MS", 3000).put("CHAT_REDIS_LOG_MAX_EVENTS", 100)
             .put("CHAT_SESSION_REPLAY_EVENTS", 50))) {
      String session = "beyond-the-bound";
      long lastSeen = 0;
      bounded.ai.script(Script.tokens(5, 1));
      try (TestSocket socket = bounded.connect("session_id=" + session + "&user_id=carol", new ChatFollower())) {
        socket.next();
        socket.send(message("before the outage", null));
        long beforeOutage = socket.until("complete").getLong("seq");
        StoredLog.readThrough(bounded.clientVertx, bounded.redis.url(), session, beforeOutage);
        awaitAudited(outage.bootstrap(), session, beforeOutage);
        outage.stop();
        bounded.ai.script(Script.tokens(300, 1));
        for (int i = 0; i < 3; i++) {
          socket.send(message("during the outage " + i, null));
          JsonObject complete = socket.until("complete");
          assertThat(complete.getString("status")).as("live delivery goes on").isEqualTo("completed");
          lastSeen = complete.getLong("seq");
        }
      }
      List<JsonObject> stored = StoredLog.readThrough(bounded.clientVertx, bounded.redis.url(), session, lastSeen);
      long lastSeq = stored.get(stored.size() - 1).getLong("seq");
      assertThat(lastSeq).as("the last answer's end is stored").isEqualTo(lastSeen);
      outage.startAgain();
      List<AuditEntry> records = awaitAudited(outage.bootstrap(), session, lastSeq);
      long lost = metric(bounded, "chat_audit_events_lost_total");
      System.out.printf("AUDIT BOUND Kafka down for %d events of one session (Redis keeps ~100, memory 50): %d written "
          + "after it came back, %d lost and counted%n", lastSeq - 8, records.size() - 8, lost);
      List<Long> seqs = records.stream().map(AuditEntry::seq).toList();
      assertThat(seqs).as("in order, each once").isSorted().doesNotHaveDuplicates();
      assertThat(records.size() + lost).as("every stored event is written or counted as lost").isEqualTo(lastSeq);
      assertThat(lost).as("more events waited than Redis keeps").isPositive();
      assertThat(seqs.subList(8, seqs.size())).as("after the gap, contiguous to the end")
          .isEqualTo(java.util.stream.LongStream.rangeClosed(seqs.get(8), lastSeq).boxed().toList());
    }
  }

  private static long metric(TestNode node, String name) throws Exception {
    return (long) PrometheusText.parse(node.get("/metrics").body()).sum(name);
  }

  @Test
  void aDeletedConversationEndsWithItsDeletionRecord() throws Exception {
    String session = "audited-then-deleted";
    node.ai.script(Script.tokens(6, 2));
    long completeSeq;
    try (TestSocket socket = node.connect("session_id=" + session + "&user_id=bob", new ChatFollower())) {
      socket.next();
      socket.send(message("soon gone", "c-1"));
      JsonObject complete = socket.until("complete");
      assertThat(complete.getString("status")).isEqualTo("completed");
      completeSeq = complete.getLong("seq");
    }
    List<JsonObject> stored = StoredLog.readThrough(node.clientVertx, node.redis.url(), session, completeSeq);
    assertThat(node.delete("/api/sessions/" + session + "?user_id=bob").statusCode()).isEqualTo(204);
    List<AuditEntry> records = AuditTopic.await(kafka.bootstrap(), TOPIC, session,
        entries -> entries.stream().anyMatch(e -> "session_deleted".equals(e.type())), Duration.ofSeconds(30));
    assertThat(records).hasSize(stored.size() + 1);
    assertExactlyTheStoredLog(stored, records.subList(0, stored.size()), session, "bob");
    JsonObject deletion = records.get(records.size() - 1).value();
    assertThat(deletion.getString("type")).isEqualTo("session_deleted");
    assertThat(deletion.getString("session_id")).isEqualTo(session);
    assertThat(deletion.getString("user_id")).isEqualTo("bob");
    assertThat(deletion.getString("node_id")).isEqualTo("test-node");
    assertThat(deletion.getString("deleted_at")).endsWith("Z");
  }
}
