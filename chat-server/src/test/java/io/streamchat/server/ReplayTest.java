package io.streamchat.server;

import static io.streamchat.server.StreamingProtocolTest.message;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamchat.audit.EmbeddedKafka;
import io.streamchat.durable.EmbeddedPostgresServer;
import io.streamchat.protocol.ConfigSource;
import io.streamchat.testkit.AuditTopic;
import io.streamchat.testkit.ChatFollower;
import io.streamchat.testkit.FakeOpenAi.Script;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The replay command against real Kafka, PostgreSQL and Redis: after both stores are wiped, the
 * audit log brings every conversation back as it was; a second run changes nothing.
 */
class ReplayTest {

  private static EmbeddedKafka kafka;
  private static EmbeddedPostgresServer postgres;
  private static TestNode node;

  @BeforeAll
  static void start() throws Exception {
    kafka = EmbeddedKafka.start();
    postgres = EmbeddedPostgresServer.start();
    node = new TestNode(new JsonObject().put("CHAT_KAFKA_BOOTSTRAP", kafka.bootstrap()).put("CHAT_DB_URL", postgres.url()));
  }

  @AfterAll
  static void stop() {
    node.close();
    postgres.close();
    kafka.close();
  }

  /** The seq of the last event each session's client saw (an event is seen before it is stored). */
  private static final Map<String, Long> lastSeen = new java.util.concurrent.ConcurrentHashMap<>();

  private static void converse(String session, String user, String... questions) {
    try (TestSocket socket = node.connect("session_id=" + session + "&user_id=" + user, new ChatFollower())) {
      socket.next();
      for (String question : questions) {
        socket.send(message(question, null));
        lastSeen.put(session, socket.until("complete").getLong("seq"));
      }
    }
  }

  /** The topic holds every stored event of the session. */
  private static void awaitAudited(String session) throws Exception {
    List<JsonObject> stored = StoredLog.readThrough(node.clientVertx, node.redis.url(), session,
        lastSeen.getOrDefault(session, 0L));
    AuditLogTest.awaitAudited(kafka.bootstrap(), session, stored.get(stored.size() - 1).getLong("seq"));
  }

  /** Each conversation of the users as the API shows it: its list entry (times aside) and its history's messages. */
  private static Map<String, JsonObject> snapshot(String... users) throws Exception {
    Map<String, JsonObject> snapshot = new TreeMap<>();
    for (String user : users) {
      JsonArray list = new JsonObject(node.get("/api/sessions?user_id=" + user).body()).getJsonArray("sessions");
      for (int i = 0; i < list.size(); i++) {
        JsonObject entry = list.getJsonObject(i).copy();
        entry.remove("created_at");
        entry.remove("updated_at");
        String session = entry.getString("session_id");
        snapshot.put(session, new JsonObject().put("entry", entry).put("position", i)
            .put("messages", node.history(session).getJsonArray("messages")));
      }
    }
    return snapshot;
  }

  private static void wipeStores() {
    node.flushRedis();
    Pool pool = PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(postgres.url())).using(node.clientVertx).build();
    try {
      pool.query("TRUNCATE conversations, messages").execute().await();
    } finally {
      pool.close().await();
    }
  }

  private static Replay.Outcome replay(String... args) throws Exception {
    JsonObject settings = new JsonObject().put("CHAT_KAFKA_BOOTSTRAP", kafka.bootstrap())
        .put("CHAT_DB_URL", postgres.url()).put("CHAT_REDIS_URL", node.redis.url());
    return new Replay(ConfigSource.of(settings), System.out).run(Replay.Options.parse(args));
  }

  @Test
  void afterBothStoresAreWipedReplayBringsEveryConversationBackAsItWasAndASecondRunChangesNothing() throws Exception {
    node.ai.script(Script.tokens(8, 2));
    converse("replay-a", "alice", "What is an actor?\nIn two lines", "And a verticle?");
    converse("replay-b", "alice", "Second conversation");
    converse("replay-c", "bob", "Bob's question");
    converse("replay-gone", "bob", "soon deleted");
    for (String session : List.of("replay-a", "replay-b", "replay-c", "replay-gone")) {
      awaitAudited(session);
    }
    assertThat(node.delete("/api/sessions/replay-gone?user_id=bob").statusCode()).isEqualTo(204);
    AuditTopic.await(kafka.bootstrap(), "chat.events", "replay-gone",
        entries -> entries.stream().anyMatch(e -> "session_deleted".equals(e.type())), Duration.ofSeconds(30));
    Map<String, JsonObject> before = snapshot("alice", "bob");
    assertThat(before).containsOnlyKeys("replay-a", "replay-b", "replay-c");
    // The other test's conversations (carol's) may be in the topic too: they come back as well.
    int others = snapshot("carol").size();
    assertThat(before.get("replay-a").getJsonArray("messages")).hasSize(4);

    node.server.stop();
    wipeStores();
    Replay.Outcome first = replay("--all");
    assertThat(first.durable()).isEqualTo(before.size() + others);
    assertThat(first.cached()).isEqualTo(before.size() + others);
    assertThat(first.deleted()).isEqualTo(1);
    node.server = ChatServer.start(node.settings());
    assertThat(snapshot("alice", "bob")).isEqualTo(before);

    node.server.stop();
    Replay.Outcome second = replay("--all");
    assertThat(second.cached()).as("Redis holds them all now").isZero();
    node.server = ChatServer.start(node.settings());
    assertThat(snapshot("alice", "bob")).isEqualTo(before);

    node.ai.script(Script.tokens(3, 2));
    converse("replay-a", "alice", "and it goes on");
    assertThat(node.history("replay-a").getJsonArray("messages")).hasSize(6);
  }

  @Test
  void oneSessionOrATimeWindowOnly() throws Exception {
    assertThat(Replay.Options.parse(new String[] {"--session", "s1", "--from", "2026-01-01T00:00:00Z"}))
        .isEqualTo(new Replay.Options("s1", java.time.Instant.parse("2026-01-01T00:00:00Z"), java.time.Instant.MAX));
    assertThatThrownBy(() -> Replay.Options.parse(new String[] {"--all", "--session", "s1"}))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Replay.Options.parse(new String[] {}))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Replay.Options.parse(new String[] {"--all", "--from", "yesterday"}))
        .hasMessageContaining("ISO-8601");
    assertThatThrownBy(() -> Replay.Options.parse(new String[] {"--all", "--from", "2026-02-01T00:00:00Z", "--to",
        "2026-01-01T00:00:00Z"})).hasMessageContaining("after");

    node.ai.script(Script.tokens(4, 2));
    converse("window-a", "carol", "only this one");
    converse("window-b", "carol", "not this one");
    awaitAudited("window-a");
    awaitAudited("window-b");
    Replay.Outcome single = replay("--session", "window-a");
    assertThat(single.conversations()).isEqualTo(1);
    Replay.Outcome future = replay("--all", "--from", "2100-01-01T00:00:00Z");
    assertThat(future.records()).isZero();
  }
}
