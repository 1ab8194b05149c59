package io.streamchat.session;

import io.streamchat.protocol.CacheCommand.Place;
import io.streamchat.protocol.ChatException;
import io.vertx.core.Future;
import java.util.List;
import io.micrometer.core.instrument.Counter;

/**
 * How many answers of one user stream at once across the cluster. Each session streams at most one
 * answer, so a user's streaming answers are the places its sessions hold in one bounded set in
 * Redis. A place is taken before anything of a new answer is appended, given up when the answer
 * ends or the session leaves the node, and renewed while it streams, so that the places of a node
 * that died lapse. When Redis cannot be asked the answer is let through (the node's own limit
 * still holds): a cache outage must not stop answers.
 */
final class UserAnswerLimit {

  /** The bounded sets in Redis. */
  interface Places {
    /** The index of the first place refused, or -1 when all are held. */
    Future<Integer> hold(List<Place> places);

    void renew(List<Place> places);

    void vacate(List<Place> places);
  }

  /** A user's answer streaming in a session. */
  record Streaming(String userId, String sessionId) {
  }

  private final Places places;
  private final int maxPerUser;
  private final long leaseMs;
  private final Counter refusals;
  private final Counter unchecked;

  UserAnswerLimit(Places places, int maxPerUser, long leaseMs, Counter refusals, Counter unchecked) {
    this.places = places;
    this.maxPerUser = maxPerUser;
    this.leaseMs = leaseMs;
    this.refusals = refusals;
    this.unchecked = unchecked;
  }

  /** Takes the place of a new answer, or fails {@code rate_limited} (with the lease as the wait). */
  Future<Void> admit(String userId, String sessionId) {
    return places.hold(List.of(place(userId, sessionId))).transform(result -> {
      if (result.failed()) {
        unchecked.increment();
        return Future.succeededFuture();
      }
      if (result.result() < 0) {
        return Future.succeededFuture();
      }
      refusals.increment();
      return Future.failedFuture(ChatException.rateLimited("you have " + maxPerUser
          + " answers streaming already; try again when one has finished", 1000));
    });
  }

  void release(String userId, String sessionId) {
    if (userId != null) {
      places.vacate(List.of(place(userId, sessionId)));
    }
  }

  void renew(List<Streaming> streaming) {
    if (!streaming.isEmpty()) {
      places.renew(streaming.stream().map(s -> place(s.userId(), s.sessionId())).toList());
    }
  }

  long leaseMs() {
    return leaseMs;
  }

  private Place place(String userId, String sessionId) {
    return new Place("chat:limit:answers-streaming:user:" + userId, sessionId, maxPerUser, leaseMs);
  }
}
