package io.streamchat.gateway;

import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.CacheCommand;
import io.streamchat.protocol.CacheCommand.Place;
import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.Nearest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import java.util.ArrayList;
import java.util.List;
import io.micrometer.core.instrument.Counter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Limits on callers that hold across the cluster, kept in Redis: open connections per user and per
 * client address. A limit of 0 is off. When Redis cannot be asked, callers are let through: a cache
 * outage must not lock everyone out. (New answers per user and minute are counted by the session's
 * owner, which knows a repeat from a new request.)
 */
final class CallerLimits {

  private static final Logger LOG = LoggerFactory.getLogger(CallerLimits.class);

  private final Vertx vertx;
  private final GatewaySettings settings;
  private final DeliveryOptions options;
  private final Counter refusals;
  private final Counter unchecked;

  CallerLimits(Vertx vertx, GatewaySettings settings, Counter refusals, Counter unchecked) {
    this.vertx = vertx;
    this.settings = settings;
    this.options = new DeliveryOptions().setSendTimeout(settings.requestTimeoutMs());
    this.refusals = refusals;
    this.unchecked = unchecked;
  }

  /** How long a connection's places last unless renewed: a node that dies frees them within this time. */
  long leaseMs() {
    return settings.keepAliveMs() * 3;
  }

  /** The places a connection takes: one among its user's connections, one among its address's. */
  List<Place> placesOf(String connectionId, String userId, String address) {
    List<Place> places = new ArrayList<>(2);
    if (userId != null && settings.maxConnectionsPerUser() > 0) {
      places.add(new Place("chat:limit:connections:user:" + userId, connectionId, settings.maxConnectionsPerUser(),
          leaseMs()));
    }
    if (address != null && settings.maxConnectionsPerAddress() > 0) {
      places.add(new Place("chat:limit:connections:address:" + address, connectionId,
          settings.maxConnectionsPerAddress(), leaseMs()));
    }
    return places;
  }

  /** Takes the places, or fails {@code rate_limited} naming the limit reached. */
  Future<Void> hold(List<Place> places) {
    if (places.isEmpty()) {
      return Future.succeededFuture();
    }
    return Nearest.request(vertx, Addresses.CACHE, new CacheCommand.Hold(places), options)
        .transform(result -> {
          if (result.failed()) {
            letThrough(result.cause());
            return Future.succeededFuture();
          }
          int refused = (Integer) result.result().body();
          if (refused < 0) {
            return Future.succeededFuture();
          }
          refusals.increment();
          boolean user = places.get(refused).key().startsWith("chat:limit:connections:user:");
          return Future.failedFuture(ChatException.rateLimited(user
              ? "this user has " + places.get(refused).limit() + " connections open already; close one first"
              : "this address has " + places.get(refused).limit() + " connections open already", leaseMs()));
        });
  }

  void renew(List<Place> places) {
    if (!places.isEmpty()) {
      Nearest.request(vertx, Addresses.CACHE, new CacheCommand.Renew(places), options)
          .onFailure(failure -> LOG.debug("Renewing {} connection places failed: {}", places.size(), failure.toString()));
    }
  }

  void vacate(List<Place> places) {
    if (!places.isEmpty()) {
      Nearest.request(vertx, Addresses.CACHE, new CacheCommand.Vacate(places), options)
          .onFailure(failure -> LOG.debug("Vacating {} connection places failed (they lapse): {}", places.size(),
              failure.toString()));
    }
  }

  private void letThrough(Throwable failure) {
    unchecked.increment();
    LOG.debug("A connection limit could not be checked ({}); it is let through",
        ErrorCode.of(failure) == ErrorCode.UNAVAILABLE ? "Redis unavailable" : failure.toString());
  }
}
