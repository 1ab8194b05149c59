package io.streamchat.durable;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.protocol.DurableCommand.ConversationEntry;
import io.streamchat.protocol.DurableCommand.StoredConversation;
import io.streamchat.protocol.DurableCommand.Write;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The durable tier against a real PostgreSQL server. */
class PostgresStoreTest {

  private static EmbeddedPostgresServer server;
  private static Vertx vertx;
  private static Pool pool;
  private static PostgresStore store;

  @BeforeAll
  static void start() throws Exception {
    server = EmbeddedPostgresServer.start();
    vertx = Vertx.vertx();
    pool = PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(server.url())).using(vertx).build();
    Migrations.apply(pool).await();
    store = new PostgresStore(pool);
  }

  @AfterAll
  static void stop() {
    pool.close().await();
    vertx.close().await();
    server.close();
  }

  private static Write user(String session, String id, String content, long at) {
    return new Write(session, "alice", id, "{\"message_id\":\"" + id + "\",\"role\":\"user\",\"content\":\"" + content + "\"}",
        content, true, at);
  }

  private static Write answer(String session, String id, long at) {
    return new Write(session, "alice", id, "{\"message_id\":\"" + id + "\",\"role\":\"assistant\"}", null, false, at);
  }

  @Test
  void messagesComeBackInOrderAndARepeatedWriteChangesNothing() {
    List<Write> writes = List.of(user("s1", "m1", "first question", 1000), answer("s1", "m2", 2000),
        user("s1", "m3", "second", 3000), answer("s1", "m4", 4000));
    store.save(writes).await();
    store.save(writes).await();
    StoredConversation loaded = store.load("s1", 100).await();
    assertThat(loaded.found()).isTrue();
    assertThat(loaded.userId()).isEqualTo("alice");
    assertThat(loaded.messages()).hasSize(4);
    assertThat(loaded.messages().get(0)).contains("\"m1\"");
    assertThat(loaded.messages().get(3)).contains("\"m4\"");
    assertThat(store.load("s1", 2).await().messages()).as("the newest, oldest first").hasSize(2)
        .first().asString().contains("\"m3\"");
    ConversationEntry entry = store.list("alice", 50, 0).await().stream()
        .filter(e -> e.sessionId().equals("s1")).findFirst().orElseThrow();
    assertThat(entry.title()).as("the first user message names it").isEqualTo("first question");
    assertThat(entry.messageCount()).isEqualTo(4);
    assertThat(entry.streaming()).isFalse();
    assertThat(entry.createdAtMs()).isEqualTo(1000);
    assertThat(entry.updatedAtMs()).isEqualTo(4000);
    assertThat(store.load("nobody", 10).await().found()).isFalse();
  }

  @Test
  void theListIsTheUsersNewestFirstWithPagingRenameAndDelete() {
    for (int i = 0; i < 5; i++) {
      store.save(List.of(user("list-" + i, "l" + i, "topic " + i, 10_000 + i * 1000L))).await();
    }
    store.save(List.of(new Write("other", "bob", "b1", "{}", "not alice's", false, 50_000))).await();
    List<ConversationEntry> page = store.list("alice", 3, 0).await().stream()
        .filter(e -> e.sessionId().startsWith("list-")).toList();
    assertThat(page).extracting(ConversationEntry::sessionId).containsExactly("list-4", "list-3", "list-2");
    assertThat(page.get(0).streaming()).as("a user message starts an answer").isTrue();
    List<ConversationEntry> next = store.list("alice", 50, page.get(2).updatedAtMs()).await();
    assertThat(next).extracting(ConversationEntry::sessionId).contains("list-1", "list-0").doesNotContain("list-2", "other");

    ConversationEntry renamed = store.rename("list-1", "Renamed", 95_000).await();
    assertThat(renamed.title()).isEqualTo("Renamed");
    store.save(List.of(user("list-1", "l1b", "a later question", 90_000))).await();
    assertThat(store.list("alice", 1, 0).await().get(0).title()).as("a rename sticks").isEqualTo("Renamed");
    assertThat(store.rename("nobody", "x", 96_000).await()).isNull();

    assertThat(store.delete("list-1").await()).isTrue();
    assertThat(store.delete("list-1").await()).isFalse();
    assertThat(store.load("list-1", 10).await().found()).isFalse();
    assertThat(store.list("alice", 50, 0).await()).extracting(ConversationEntry::sessionId).doesNotContain("list-1");
  }

  @Test
  void aWritePostgresqlRefusesIsSkippedAndTheOthersAreStored() {
    Write refusedTitle = new Write("bad-1", "alice", "x1", "{\"message_id\":\"x1\"}", "a\u0000b", true, 5_100);
    List<Write> refused = new ArrayList<>();
    int stored = store.save(List.of(user("bad-0", "x0", "before", 5_000), refusedTitle, answer("bad-0", "x2", 5_200)),
        (write, failure) -> refused.add(write)).await();
    assertThat(stored).isEqualTo(2);
    assertThat(refused).containsExactly(refusedTitle);
    assertThat(store.load("bad-0", 10).await().messages()).hasSize(2);
    assertThat(store.load("bad-1", 10).await().found()).isFalse();

    Write escaped = user("bad-2", "x3", "a\\u0000b", 5_300);
    assertThat(store.save(List.of(escaped), (write, failure) -> refused.add(write)).await())
        .as("U+0000 escaped in a message's JSON is stored").isEqualTo(1);
    Throwable renaming = store.rename("bad-2", "a\u0000b", 5_400)
        .transform(result -> Future.succeededFuture(result.cause())).await();
    assertThat(PostgresStore.refusesData(renaming)).as("%s", renaming).isTrue();
  }

  @Test
  void migrationsApplyOnce() {
    Migrations.apply(pool).await();
    long applied = pool.query("SELECT count(*) FROM schema_migrations").execute().await().iterator().next().getLong(0);
    assertThat(applied).isEqualTo(Migrations.ALL.size());
  }
}
