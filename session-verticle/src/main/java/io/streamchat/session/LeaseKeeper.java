package io.streamchat.session;

import io.vertx.core.Future;
import io.vertx.core.shareddata.AsyncMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The cluster-wide lease that makes one session verticle the only candidate owner of a session. A
 * lease names its holder: the holder's cluster node id, then a suffix unique to the verticle
 * instance. It is valid while that node is a cluster member; the lease of a departed member is
 * taken over with a compare-and-set, so that two nodes racing for it end with one holder. (Writes
 * are fenced in Redis as well: the lease decides who claims, the fencing token who may write.)
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
   * @param isMember      whether a cluster node id is a member now
   * @param clusterNodeId this node's cluster node id
   * @param instanceId    unique to this verticle instance
   */
  LeaseKeeper(LeaseMap leases, Predicate<String> isMember, String clusterNodeId, String instanceId) {
    this.leases = leases;
    this.isMember = isMember;
    this.holder = clusterNodeId + SEPARATOR + instanceId;
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

  /** Takes the session's lease, unless a live member holds it; a lease this keeper holds already counts as taken. */
  Future<Outcome> acquire(String sessionId) {
    return leases.putIfAbsent(sessionId, holder).compose(current -> {
      if (current == null || current.equals(holder)) {
        return Future.succeededFuture(Outcome.ACQUIRED);
      }
      if (isMember.test(nodeOf(current))) {
        return Future.succeededFuture(Outcome.HELD_ELSEWHERE);
      }
      // The holder's node left the cluster: take the lease over, unless another node just did.
      return leases.replaceIfPresent(sessionId, current, holder)
          .map(replaced -> replaced ? Outcome.ACQUIRED : Outcome.HELD_ELSEWHERE);
    });
  }

  /** Gives the lease back, if this keeper still holds it. */
  Future<Boolean> release(String sessionId) {
    return leases.removeIfPresent(sessionId, holder);
  }

  private static String nodeOf(String holder) {
    int separator = holder.indexOf(SEPARATOR);
    return separator < 0 ? holder : holder.substring(0, separator);
  }
}
