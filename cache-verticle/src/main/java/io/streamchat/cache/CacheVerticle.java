package io.streamchat.cache;

import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.CacheCommand;
import io.streamchat.protocol.CacheCommand.AppendBatch;
import io.streamchat.protocol.CacheCommand.CheckFence;
import io.streamchat.protocol.CacheCommand.Claim;
import io.streamchat.protocol.CacheCommand.Forget;
import io.streamchat.protocol.CacheCommand.MarkAudited;
import io.streamchat.protocol.CacheCommand.ReadLog;
import io.streamchat.protocol.CacheCommand.Release;
import io.streamchat.protocol.CacheCommand.Seed;
import io.streamchat.protocol.Codecs;
import io.streamchat.protocol.ConfigSource;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.InternalFailure;
import io.streamchat.protocol.Metrics;
import io.streamchat.protocol.Nearest;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.micrometer.core.instrument.Counter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The only code that talks to Redis. Session owners send it claims, appends and releases; it
 * answers each from Redis. It keeps no state: retrying a failed append is the owner's job.
 */
public final class CacheVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(CacheVerticle.class);

  private Redis client;
  private RedisSessionStore store;
  private Counter appends;
  private Counter appendFailures;

  @Override
  public Future<?> start() {
    Codecs.register(vertx);
    CacheConfig settings = CacheConfig.from(ConfigSource.of(config()));
    client = Redis.createClient(vertx, redisOptions(settings));
    store = new RedisSessionStore(client, settings);
    Metrics metrics = Metrics.of(vertx);
    appends = metrics.storeWrites(Metrics.Store.REDIS, true);
    appendFailures = metrics.storeWrites(Metrics.Store.REDIS, false);
    return Nearest.ready(Nearest.consumers(vertx, Addresses.CACHE, this::handle));
  }

  /** The Redis client of the store: a pool whose connections each carry one pipelined batch at a time. */
  static RedisOptions redisOptions(CacheConfig settings) {
    RedisOptions options = new RedisOptions()
        .setConnectionString(settings.redisUrl())
        .setMaxPoolSize(settings.poolSize())
        .setMaxPoolWaiting(10_000)
        .setMaxWaitingHandlers(RedisSessionStore.MAX_PIPELINED);
    if (settings.caPath() != null) {
      options.setNetClientOptions(new NetClientOptions().setSsl(true).setHostnameVerificationAlgorithm("HTTPS")
          .setTrustOptions(new PemTrustOptions().addCertPath(settings.caPath())));
    }
    return options;
  }

  @Override
  public Future<?> stop() {
    return client == null ? Future.succeededFuture() : client.close();
  }

  private static String sessionOf(CacheCommand command) {
    if (command instanceof Claim claim) {
      return claim.sessionId();
    } else if (command instanceof CheckFence check) {
      return check.sessionId();
    } else if (command instanceof Release release) {
      return release.sessionId();
    } else if (command instanceof Seed seed) {
      return seed.sessionId();
    } else if (command instanceof Forget forget) {
      return forget.sessionId();
    } else if (command instanceof MarkAudited mark) {
      return mark.sessionId();
    } else if (command instanceof ReadLog read) {
      return read.sessionId();
    } else if (command instanceof CacheCommand.Holds holds) {
      return holds.sessionId();
    }
    return "(several)";
  }

  private void handle(Message<CacheCommand> message) {
    CacheCommand command = message.body();
    Future<?> result;
    if (command instanceof Claim claim) {
      result = store.claim(claim);
    } else if (command instanceof AppendBatch batch) {
      result = store.appendAll(batch.appends()).onComplete(appended -> (appended.succeeded() ? appends : appendFailures).increment());
    } else if (command instanceof CheckFence check) {
      result = store.checkFence(check.sessionId(), check.fence()).map("current");
    } else if (command instanceof Seed seed) {
      result = store.seed(seed).map("seeded");
    } else if (command instanceof Forget forget) {
      result = store.forget(forget).map("forgotten");
    } else if (command instanceof MarkAudited mark) {
      result = store.markAudited(mark).map("marked");
    } else if (command instanceof ReadLog read) {
      result = store.readLog(read);
    } else if (command instanceof CacheCommand.Holds holds) {
      result = store.holds(holds.sessionId());
    } else if (command instanceof CacheCommand.Hold hold) {
      result = store.hold(hold.places());
    } else if (command instanceof CacheCommand.Renew renew) {
      result = store.renew(renew.places());
    } else if (command instanceof CacheCommand.Vacate vacate) {
      result = store.vacate(vacate.places()).map("vacated");
    } else if (command instanceof CacheCommand.Count count) {
      result = store.count(count);
    } else if (command instanceof CacheCommand.Uncount uncount) {
      result = store.uncount(uncount).map("uncounted");
    } else if (command instanceof CacheCommand.Ping) {
      result = store.ping();
    } else {
      result = store.release((Release) command).map("released");
    }
    result.onSuccess(message::reply).onFailure(failure -> {
      if (RedisSessionStore.isFenced(failure)) {
        message.reply(InternalFailure.FENCED.reply());
      } else {
        if (!(command instanceof AppendBatch)) {
          // A batch's failures are reported by its sender, once per session and run of failures.
          LOG.atWarn().addKeyValue("session_id", sessionOf(command))
              .log("Redis {} of session {} failed: {}", command.getClass().getSimpleName(), sessionOf(command),
                  failure.toString());
        }
        message.fail(ErrorCode.UNAVAILABLE.httpStatus(), ErrorCode.UNAVAILABLE.wire());
      }
    });
  }
}
