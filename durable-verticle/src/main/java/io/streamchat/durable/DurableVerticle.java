package io.streamchat.durable;

import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.Codecs;
import io.streamchat.protocol.ConfigSource;
import io.streamchat.protocol.DurableCommand;
import io.streamchat.protocol.DurableCommand.Conversations;
import io.streamchat.protocol.DurableCommand.Delete;
import io.streamchat.protocol.DurableCommand.Deleted;
import io.streamchat.protocol.DurableCommand.ListConversations;
import io.streamchat.protocol.DurableCommand.Load;
import io.streamchat.protocol.DurableCommand.Rename;
import io.streamchat.protocol.DurableCommand.Save;
import io.streamchat.protocol.DurableCommand.Saved;
import io.streamchat.protocol.DurableCommand.Write;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.Metrics;
import io.streamchat.protocol.Nearest;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.pgclient.PgBuilder;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.micrometer.core.instrument.Counter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The only code that talks to PostgreSQL. Session owners send it the finished messages of their
 * conversations (written behind live delivery); the conversations API reads and changes the list.
 */
public final class DurableVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(DurableVerticle.class);

  private Pool pool;
  private PostgresStore store;
  private int maxMessages;
  private Counter writes;
  private Counter failures;
  private Counter refusedWrites;
  private Counter saves;
  private Counter saveFailures;

  @Override
  public Future<?> start() {
    Codecs.register(vertx);
    ConfigSource config = ConfigSource.of(config());
    DurableSettings settings = DurableSettings.from(config);
    maxMessages = config.integer("CHAT_HISTORY_MAX_MESSAGES", 1000);
    pool = PgBuilder.pool().with(new PoolOptions().setMaxSize(settings.poolSize()))
        .connectingTo(connectOptions(settings)).using(vertx).build();
    store = new PostgresStore(pool);
    Metrics metrics = Metrics.of(vertx);
    writes = metrics.counter("chat_db_writes_total", "Conversation changes written to PostgreSQL");
    failures = metrics.counter("chat_db_failures_total", "PostgreSQL requests that failed");
    refusedWrites = metrics.counter("chat_db_refused_writes_total",
        "Conversation changes PostgreSQL refuses for their data, skipped so that the others are written");
    saves = metrics.storeWrites(Metrics.Store.POSTGRES, true);
    saveFailures = metrics.storeWrites(Metrics.Store.POSTGRES, false);
    return Migrations.apply(pool).compose(v -> Nearest.ready(Nearest.consumers(vertx, Addresses.DURABLE, this::handle)));
  }

  /** The URL's options ({@code sslmode} among them), trusting CHAT_DB_CA_PATH when set. */
  private static PgConnectOptions connectOptions(DurableSettings settings) {
    PgConnectOptions options = PgConnectOptions.fromUri(settings.url());
    if (settings.caPath() != null) {
      options.setSslOptions(new ClientSSLOptions().setTrustOptions(new PemTrustOptions().addCertPath(settings.caPath())));
    }
    return options;
  }

  @Override
  public Future<?> stop() {
    return pool == null ? Future.succeededFuture() : pool.close();
  }

  private void handle(Message<DurableCommand> message) {
    DurableCommand command = message.body();
    Future<?> result;
    if (command instanceof Save save) {
      result = store.save(save.writes(), this::refused).map(Saved::new).onComplete(saved -> {
        if (saved.succeeded()) {
          writes.increment(saved.result().count());
          saves.increment();
        } else {
          saveFailures.increment();
        }
      });
    } else if (command instanceof Load load) {
      result = store.load(load.sessionId(), maxMessages);
    } else if (command instanceof ListConversations list) {
      result = store.list(list.userId(), list.limit(), list.beforeMs()).map(Conversations::new);
    } else if (command instanceof DurableCommand.Ping) {
      result = pool.query("SELECT 1").execute().map(true);
    } else if (command instanceof Rename rename) {
      result = store.rename(rename.sessionId(), rename.title(), System.currentTimeMillis()).compose(entry -> entry == null
          ? Future.failedFuture(new ChatException(ErrorCode.NOT_FOUND, "no conversation " + rename.sessionId()))
          : Future.succeededFuture(entry));
    } else {
      result = store.delete(((Delete) command).sessionId()).map(Deleted::new);
    }
    result.onSuccess(message::reply).onFailure(failure -> {
      if (failure instanceof ChatException chat) {
        message.reply(chat.toReplyException());
        return;
      }
      failures.increment();
      LOG.warn("PostgreSQL {} failed: {}", command.getClass().getSimpleName(), failure.toString());
      ErrorCode code = PostgresStore.refusesData(failure) ? ErrorCode.BAD_REQUEST : ErrorCode.UNAVAILABLE;
      message.fail(code.httpStatus(), code.wire());
    });
  }

  private void refused(Write write, Throwable failure) {
    refusedWrites.increment();
    LOG.atError().addKeyValue("session_id", write.sessionId())
        .log("PostgreSQL refuses a change to conversation {} (message {}), which is skipped; the conversation's "
            + "other changes are written: {}", write.sessionId(), write.messageId(), failure.toString());
  }
}
