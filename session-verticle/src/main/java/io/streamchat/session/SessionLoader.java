package io.streamchat.session;

import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.CacheCommand.Claim;
import io.streamchat.protocol.CacheCommand.Claimed;
import io.streamchat.protocol.CacheCommand.Seed;
import io.streamchat.protocol.DurableCommand;
import io.streamchat.protocol.EpochHistory;
import io.streamchat.protocol.Nearest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the state of a session just claimed comes from: Redis, which records the claim (a new
 * fencing token) and returns the session's recent log and history; or, when Redis no longer holds
 * the conversation, PostgreSQL, whose messages are seeded back into Redis.
 */
final class SessionLoader {

  private static final Logger LOG = LoggerFactory.getLogger(SessionLoader.class);

  private final Vertx vertx;
  private final SessionSettings settings;
  private final DeliveryOptions requestOptions;

  SessionLoader(Vertx vertx, SessionSettings settings, DeliveryOptions requestOptions) {
    this.vertx = vertx;
    this.settings = settings;
    this.requestOptions = requestOptions;
  }

  /** Claims the session in Redis (this node's lease in the cluster is already held) and loads it. */
  Future<Claimed> load(String sessionId) {
    Claim claim = new Claim(sessionId, EpochHistory.newEpoch(), settings.replayEvents(), settings.maxMessages());
    return Nearest.<Claimed>request(vertx, Addresses.CACHE, claim, requestOptions)
        .compose(reply -> fromDurableTier(sessionId, reply.body()));
  }

  /**
   * A session Redis does not hold (it forgot it, or it never had it) comes back from the durable
   * tier: its messages fill the history in Redis, under the new epoch. When the durable tier cannot
   * answer, the activation fails (the client retries): an empty history would hide the
   * conversation.
   */
  private Future<Claimed> fromDurableTier(String sessionId, Claimed claimed) {
    boolean forgotten = claimed.epochChanged() && claimed.lastSeq() == 0 && claimed.messages().isEmpty();
    if (!settings.durable() || !forgotten) {
      return Future.succeededFuture(claimed);
    }
    return Nearest.<DurableCommand.StoredConversation>request(vertx, Addresses.DURABLE,
            new DurableCommand.Load(sessionId), requestOptions)
        .compose(reply -> {
          DurableCommand.StoredConversation stored = reply.body();
          if (!stored.found() || stored.messages().isEmpty()) {
            return Future.succeededFuture(claimed);
          }
          List<String> ids = stored.messages().stream()
              .map(json -> new JsonObject(json).getString("message_id")).toList();
          Seed seed = new Seed(sessionId, claimed.fence(), stored.userId(), ids, stored.messages());
          LOG.atInfo().addKeyValue("session_id", sessionId)
              .log("Session {} comes back from PostgreSQL with {} messages", sessionId, ids.size());
          return Nearest.request(vertx, Addresses.CACHE, seed, requestOptions)
              .map(v -> claimed.withHistory(stored.userId(), stored.messages()));
        });
  }
}
