package io.streamchat.session;

import io.vertx.core.Future;
import io.vertx.core.shareddata.AsyncMap;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The cluster-wide lease that makes one session verticle the only candidate owner of a session. A
 * lease names its holder: the holder's cluster node id, then a suffix unique to the verticle
 * instance, then the number of the attempt that took it. It is valid while that node is a cluster
 * member; the lease of a departed member is taken over with a compare-and-set, so that two nodes
 * racing for it end with one holder. (Writes are fenced in Redis as well: the lease decides who
 * claims, the fencing token who may write.)
 */
final class LeaseKeeper {

  /** The cluster-wide map of leases, by session id. The caller bounds every call with a timeout. */
  interface LeaseMap {
    /** The current holder, or null when this call made {@code holder} the holder. */
    Future<String> putIfAbsent(String sessionId, String holder);

    Future<Boolean> replaceIfPresent(String sessionId, String oldHolder, String newHolder);

    Future<Boolean> removeIfPresent(String sessionId, String holder);
  }

  enum Outcome { ACQUIRED, HELD_ELSEWHERE }

  private static final char SEPARATOR = '|';

  private final LeaseMap leases;
  private final Predicate<String> isMember;
  private final String holder;
  /**
   * The value of this keeper's latest attempt at each session's lease, until released. Every
   * attempt writes a value of its own, so that the release of an attempt that timed out (and may
   * still land late in the cluster) can never remove the lease a later attempt took.
   */
  private final Map<String, String> attempts = new HashMap<>();
  private long attemptCount;

  /**
   * @param isMember      whether a cluster node id is a member now
   * @param clusterNodeId this node's cluster node id
   * @param instanceId    unique to this verticle instance
   */
  LeaseKeeper(LeaseMap leases, Predicate<String> isMember, String clusterNodeId, String instanceId) {
    this.leases = leases;
    this.isMember = isMember;
    this.holder = clusterNodeId + SEPARATOR + instanceId + SEPARATOR;
  }

  /**
   * The cluster's map, every call bounded: a call that never completes (a hung member holds the
   * partition) must not keep a session "activating" for good.
   */
  static LeaseMap timeBound(AsyncMap<String, String> map, long timeoutMs) {
    return new LeaseMap() {
      @Override
      public Future<String> putIfAbsent(String sessionId, String holder) {
        return map.putIfAbsent(sessionId, holder).timeout(timeoutMs, TimeUnit.MILLISECONDS);
      }

      @Override
      public Future<Boolean> replaceIfPresent(String sessionId, String oldHolder, String newHolder) {
        return map.replaceIfPresent(sessionId, oldHolder, newHolder).timeout(timeoutMs, TimeUnit.MILLISECONDS);
      }

      @Override
      public Future<Boolean> removeIfPresent(String sessionId, String holder) {
        return map.removeIfPresent(sessionId, holder).timeout(timeoutMs, TimeUnit.MILLISECONDS);
      }
    };
  }

  /**
   * Takes the session's lease, unless a live member holds it. A lease this keeper took in an earlier
   * attempt (one whose caller gave up, but which landed) is taken over by this one.
   */
  Future<Outcome> acquire(String sessionId) {
    String attempt = holder + (++attemptCount);
    attempts.put(sessionId, attempt);
    return leases.putIfAbsent(sessionId, attempt).compose(current -> {
      if (current == null) {
        return Future.succeededFuture(Outcome.ACQUIRED);
      }
      if (!current.startsWith(holder) && isMember.test(nodeOf(current))) {
        return Future.succeededFuture(Outcome.HELD_ELSEWHERE);
      }
      // Its node left the cluster, or it is this keeper's own earlier attempt: take it over,
      // unless another node just did.
      return leases.replaceIfPresent(sessionId, current, attempt)
          .map(replaced -> replaced ? Outcome.ACQUIRED : Outcome.HELD_ELSEWHERE);
    }).onSuccess(outcome -> {
      if (outcome == Outcome.HELD_ELSEWHERE) {
        attempts.remove(sessionId, attempt);
      }
    });
  }

  /** Sessions whose lease this keeper holds or is taking: no more than it owns and activates. */
  int attemptsHeld() {
    return attempts.size();
  }

  /** Gives the lease back, if this keeper's latest attempt at it still holds it. */
  Future<Boolean> release(String sessionId) {
    String attempt = attempts.remove(sessionId);
    return attempt == null ? Future.succeededFuture(false) : leases.removeIfPresent(sessionId, attempt);
  }

  private static String nodeOf(String holder) {
    int separator = holder.indexOf(SEPARATOR);
    return separator < 0 ? holder : holder.substring(0, separator);
  }
}
