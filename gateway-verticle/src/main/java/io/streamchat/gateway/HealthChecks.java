package io.streamchat.gateway;

import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.AuditCommand;
import io.streamchat.protocol.CacheCommand;
import io.streamchat.protocol.DurableCommand;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.Membership;
import io.streamchat.protocol.Nearest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Whether this node can serve: each dependency is asked through the verticle that owns it (Redis,
 * PostgreSQL, the Kafka producer) and the cluster is checked for a membership. A dependency that is
 * turned off is reported {@code OFF} and does not make the node unready.
 */
final class HealthChecks {

  static final String UP = "UP";
  static final String OFF = "OFF";
  private static final long CHECK_TIMEOUT_MS = 2000;

  /** The outcome of every check, and whether all of them let the node serve. */
  record Report(boolean up, Map<String, String> checks) {
    JsonObject json() {
      JsonObject json = new JsonObject();
      checks.forEach(json::put);
      return json;
    }
  }

  private final Vertx vertx;
  private final boolean durable;
  private final boolean audit;
  private final DeliveryOptions options = new DeliveryOptions().setSendTimeout(CHECK_TIMEOUT_MS);

  HealthChecks(Vertx vertx, boolean durable, boolean audit) {
    this.vertx = vertx;
    this.durable = durable;
    this.audit = audit;
  }

  Future<Report> run(boolean gatewayReady) {
    Future<String> redis = ping(Addresses.CACHE, new CacheCommand.Ping());
    Future<String> postgres = durable ? ping(Addresses.DURABLE, new DurableCommand.Ping()) : Future.succeededFuture(OFF);
    Future<String> kafka = audit ? ping(Addresses.AUDIT, new AuditCommand.Ping()) : Future.succeededFuture(OFF);
    return Future.join(redis, postgres, kafka).transform(done -> {
      Map<String, String> checks = new LinkedHashMap<>();
      checks.put("gateway", gatewayReady ? UP : "DOWN: starting or stopping");
      checks.put("redis", redis.result());
      checks.put("postgres", postgres.result());
      checks.put("kafka", kafka.result());
      checks.put("cluster", cluster());
      boolean up = checks.values().stream().allMatch(state -> state.equals(UP) || state.equals(OFF));
      return Future.succeededFuture(new Report(up, checks));
    });
  }

  private String cluster() {
    if (!Membership.isClustered(vertx)) {
      return OFF;
    }
    int members = Membership.size(vertx);
    return members > 0 && Membership.isMember(vertx, Membership.nodeId(vertx)) ? UP
        : "DOWN: not a member of the cluster (rejoining)";
  }

  private Future<String> ping(String address, Object ping) {
    return Nearest.request(vertx, address, ping, options).transform(result -> Future.succeededFuture(
        result.succeeded() ? UP : "DOWN: " + (ErrorCode.of(result.cause()) == ErrorCode.UNAVAILABLE
            ? "not answering" : result.cause().getMessage())));
  }
}
