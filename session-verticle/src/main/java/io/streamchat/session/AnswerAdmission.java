package io.streamchat.session;

import io.vertx.core.shareddata.Shareable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import io.micrometer.core.instrument.Counter;

/**
 * The node's admission limit on answers streaming at once: the answers its sessions own, in all,
 * and per user. It is asked before anything of a new answer is appended, so that a refusal is a
 * clean {@code rate_limited} and an admitted answer is never failed by a local limit. Shared by
 * every session verticle instance of the node, hence thread-safe.
 */
final class AnswerAdmission implements Shareable {

  enum Outcome { ADMITTED, NODE_FULL, USER_FULL }

  private final int maxPerNode;
  private final int maxPerUser;
  private final AtomicInteger active = new AtomicInteger();
  private final ConcurrentHashMap<String, Integer> activeByUser = new ConcurrentHashMap<>();

  private final Counter refused;

  AnswerAdmission(int maxPerNode, int maxPerUser, Counter refused) {
    this.maxPerNode = maxPerNode;
    this.maxPerUser = maxPerUser;
    this.refused = refused;
  }

  /** Takes a slot for a new answer of {@code userId} (null: an anonymous user), unless a limit is reached. */
  Outcome tryAcquire(String userId) {
    if (active.incrementAndGet() > maxPerNode) {
      active.decrementAndGet();
      refused.increment();
      return Outcome.NODE_FULL;
    }
    if (userId != null && !acquireUser(userId, maxPerUser)) {
      active.decrementAndGet();
      refused.increment();
      return Outcome.USER_FULL;
    }
    return Outcome.ADMITTED;
  }

  /** Takes a slot whatever the limits: an answer that was already streaming when this node took its session over. */
  void acquireAnyway(String userId) {
    active.incrementAndGet();
    if (userId != null) {
      acquireUser(userId, Integer.MAX_VALUE);
    }
  }

  void release(String userId) {
    active.decrementAndGet();
    if (userId != null) {
      activeByUser.computeIfPresent(userId, (u, count) -> count == 1 ? null : count - 1);
    }
  }

  int active() {
    return active.get();
  }

  /** One more answer for the user unless it has {@code max} already; atomic per user. */
  private boolean acquireUser(String userId, int max) {
    boolean[] acquired = new boolean[1];
    activeByUser.compute(userId, (u, count) -> {
      int current = count == null ? 0 : count;
      acquired[0] = current < max;
      return acquired[0] ? current + 1 : count;
    });
    return acquired[0];
  }
}
