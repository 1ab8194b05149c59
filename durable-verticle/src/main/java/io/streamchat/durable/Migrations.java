package io.streamchat.durable;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Versioned schema migrations: {@code migrations/V<n>__<name>.sql}, applied in order, each once,
 * in its own transaction, recorded in {@code schema_migrations}. Nodes starting together take an
 * advisory lock so that one applies them.
 */
final class Migrations {

  private static final Logger LOG = LoggerFactory.getLogger(Migrations.class);
  /** Every migration, in order. A new one is added here and as a file; none is ever edited. */
  static final List<String> ALL = List.of("V1__conversations");
  /** The advisory lock of migrations: any number, the same on every node. */
  private static final long LOCK_KEY = 727_001_001L;

  private Migrations() {
  }

  static Future<Void> apply(Pool pool) {
    return pool.withConnection(connection -> connection
        .query("SELECT pg_advisory_lock(" + LOCK_KEY + ")").execute()
        .compose(v -> connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL").execute())
        .compose(exists -> exists.iterator().next().getBoolean(0) ? Future.succeededFuture()
            : connection.query("CREATE TABLE schema_migrations ("
                + "version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())").execute().mapEmpty())
        .compose(v -> connection.query("SELECT version FROM schema_migrations").execute())
        .compose(rows -> {
          Set<String> applied = java.util.stream.StreamSupport.stream(rows.spliterator(), false)
              .map(row -> row.getString("version")).collect(Collectors.toSet());
          Future<Void> chain = Future.succeededFuture();
          for (String version : ALL) {
            if (!applied.contains(version)) {
              chain = chain.compose(v -> applyOne(connection, version));
            }
          }
          return chain;
        })
        .eventually(() -> connection.query("SELECT pg_advisory_unlock(" + LOCK_KEY + ")").execute()));
  }

  private static Future<Void> applyOne(SqlConnection connection, String version) {
    String sql = read(version);
    return connection.begin().compose(tx -> connection.query(sql).execute()
        .compose(v -> connection.preparedQuery("INSERT INTO schema_migrations (version) VALUES ($1)")
            .execute(io.vertx.sqlclient.Tuple.of(version)))
        .compose(v -> tx.commit())
        .onSuccess(v -> LOG.info("Applied schema migration {}", version))
        .onFailure(e -> tx.rollback()));
  }

  private static String read(String version) {
    try (InputStream in = Migrations.class.getResourceAsStream("migrations/" + version + ".sql")) {
      if (in == null) {
        throw new IllegalStateException("missing migration " + version);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
