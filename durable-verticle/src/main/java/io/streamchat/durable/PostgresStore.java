package io.streamchat.durable;

import io.streamchat.protocol.DurableCommand.ConversationEntry;
import io.streamchat.protocol.DurableCommand.StoredConversation;
import io.streamchat.protocol.DurableCommand.Write;
import io.vertx.core.Future;
import io.vertx.sqlclient.DatabaseException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * Conversations and their finished messages in PostgreSQL. Writes are idempotent: a message is
 * keyed by its id (a repeat replaces it with the same content), a conversation by its session id.
 */
final class PostgresStore {

  private static final String UPSERT_CONVERSATION = "INSERT INTO conversations "
      + "(session_id, user_id, title, created_at, updated_at, streaming) VALUES ($1, $2, $3, $4, $4, $5) "
      + "ON CONFLICT (session_id) DO UPDATE SET "
      + "user_id = COALESCE(conversations.user_id, excluded.user_id), "
      + "title = CASE WHEN conversations.title = '' THEN excluded.title ELSE conversations.title END, "
      + "updated_at = GREATEST(conversations.updated_at, excluded.updated_at), "
      + "streaming = excluded.streaming";
  private static final String UPSERT_MESSAGE = "INSERT INTO messages (message_id, session_id, message) "
      + "VALUES ($1, $2, $3) ON CONFLICT (message_id) DO UPDATE SET message = excluded.message";
  private static final String COUNT_MESSAGES = "UPDATE conversations c SET message_count = "
      + "(SELECT count(*) FROM messages m WHERE m.session_id = c.session_id) WHERE c.session_id = ANY($1)";
  private static final String ENTRY_COLUMNS =
      "session_id, user_id, title, created_at, updated_at, message_count, streaming";

  private final Pool pool;

  PostgresStore(Pool pool) {
    this.pool = pool;
  }

  /**
   * Writes in order, in one transaction. When PostgreSQL refuses the data of one of them (it could
   * never store it as it is), the writes are saved one by one instead, and each refused write is
   * handed to {@code refused} and skipped: one bad write must not hold up every later one.
   * Completes with the number of writes stored.
   */
  Future<Integer> save(List<Write> writes, BiConsumer<Write, Throwable> refused) {
    return save(writes).recover(failure -> {
      if (!refusesData(failure)) {
        return Future.failedFuture(failure);
      }
      if (writes.size() == 1) {
        refused.accept(writes.get(0), failure);
        return Future.succeededFuture(0);
      }
      Future<Integer> stored = Future.succeededFuture(0);
      for (Write write : writes) {
        stored = stored.compose(count -> save(List.of(write), refused).map(one -> count + one));
      }
      return stored;
    });
  }

  /** Whether PostgreSQL refused the data itself (SQLSTATE class 22, such as U+0000 in text): no retry can store it. */
  static boolean refusesData(Throwable failure) {
    return failure instanceof DatabaseException database && database.getSqlState() != null
        && database.getSqlState().startsWith("22");
  }

  /** Writes in order, in one transaction. */
  Future<Integer> save(List<Write> writes) {
    return pool.withTransaction(connection -> {
      Future<Void> chain = Future.succeededFuture();
      Set<String> sessions = new LinkedHashSet<>();
      for (Write write : writes) {
        sessions.add(write.sessionId());
        chain = chain.compose(v -> upsert(connection, write));
      }
      return chain.compose(v -> connection.preparedQuery(COUNT_MESSAGES)
          .execute(Tuple.of(sessions.toArray(new String[0]))).map(writes.size()));
    });
  }

  private static Future<Void> upsert(SqlClient connection, Write write) {
    Future<RowSet<Row>> conversation = connection.preparedQuery(UPSERT_CONVERSATION).execute(Tuple.of(
        write.sessionId(), write.userId(), write.title() == null ? "" : write.title(), time(write.atMs()),
        write.streaming()));
    if (write.messageId() == null) {
      return conversation.mapEmpty();
    }
    return conversation.compose(v -> connection.preparedQuery(UPSERT_MESSAGE)
        .execute(Tuple.of(write.messageId(), write.sessionId(), write.messageJson()))).mapEmpty();
  }

  /** A conversation's messages, oldest first, and its user. */
  Future<StoredConversation> load(String sessionId, int maxMessages) {
    return pool.preparedQuery("SELECT user_id FROM conversations WHERE session_id = $1").execute(Tuple.of(sessionId))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.succeededFuture(new StoredConversation(false, null, List.of()));
          }
          String userId = rows.iterator().next().getString(0);
          return pool.preparedQuery("SELECT message FROM (SELECT message, position FROM messages "
                  + "WHERE session_id = $1 ORDER BY position DESC LIMIT $2) newest ORDER BY position")
              .execute(Tuple.of(sessionId, maxMessages))
              .map(messages -> {
                List<String> list = new ArrayList<>(messages.size());
                messages.forEach(row -> list.add(row.getString(0)));
                return new StoredConversation(true, userId, list);
              });
        });
  }

  /** The user's conversations, most recently updated first, updated before {@code beforeMs} when it is not 0. */
  Future<List<ConversationEntry>> list(String userId, int limit, long beforeMs) {
    String sql = "SELECT " + ENTRY_COLUMNS + " FROM conversations WHERE user_id = $1"
        + (beforeMs > 0 ? " AND updated_at < $3" : "") + " ORDER BY updated_at DESC, session_id LIMIT $2";
    Tuple args = beforeMs > 0 ? Tuple.of(userId, limit, time(beforeMs)) : Tuple.of(userId, limit);
    return pool.preparedQuery(sql).execute(args).map(PostgresStore::entries);
  }

  /** Renames a conversation; null when there is none. Times are the nodes' clock, in milliseconds, as every write's. */
  Future<ConversationEntry> rename(String sessionId, String title, long atMs) {
    return pool.preparedQuery("UPDATE conversations SET title = $2, updated_at = GREATEST(updated_at, $3) "
            + "WHERE session_id = $1 RETURNING " + ENTRY_COLUMNS).execute(Tuple.of(sessionId, title, time(atMs)))
        .map(rows -> rows.size() == 0 ? null : entries(rows).get(0));
  }

  /** Forgets a conversation and its messages; whether there was one. */
  Future<Boolean> delete(String sessionId) {
    return pool.preparedQuery("DELETE FROM conversations WHERE session_id = $1").execute(Tuple.of(sessionId))
        .map(rows -> rows.rowCount() > 0);
  }

  private static List<ConversationEntry> entries(RowSet<Row> rows) {
    List<ConversationEntry> entries = new ArrayList<>(rows.size());
    for (Row row : rows) {
      entries.add(new ConversationEntry(row.getString("session_id"), row.getString("user_id"), row.getString("title"),
          millis(row.getOffsetDateTime("created_at")), millis(row.getOffsetDateTime("updated_at")),
          row.getInteger("message_count"), row.getBoolean("streaming")));
    }
    return entries;
  }

  private static OffsetDateTime time(long ms) {
    return OffsetDateTime.ofInstant(Instant.ofEpochMilli(ms), ZoneOffset.UTC);
  }

  private static long millis(OffsetDateTime time) {
    return time.toInstant().toEpochMilli();
  }
}
