package io.streamchat.session;

import io.vertx.core.shareddata.Shareable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

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
  private final ConcurrentHashMap<String, AtomicInteger> activeByUser = new ConcurrentHashMap<>();

  private final LongAdder refused;

  AnswerAdmission(int maxPerNode, int maxPerUser, LongAdder refused) {
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
    if (userId != null) {
      AtomicInteger ofUser = activeByUser.computeIfAbsent(userId, u -> new AtomicInteger());
      if (ofUser.incrementAndGet() > maxPerUser) {
        releaseUser(userId, ofUser);
        active.decrementAndGet();
        refused.increment();
        return Outcome.USER_FULL;
      }
    }
    return Outcome.ADMITTED;
  }

  /** Takes a slot whatever the limits: an answer that was already streaming when this node took its session over. */
  void acquireAnyway(String userId) {
    active.incrementAndGet();
    if (userId != null) {
      activeByUser.computeIfAbsent(userId, u -> new AtomicInteger()).incrementAndGet();
    }
  }

  void release(String userId) {
    active.decrementAndGet();
    if (userId != null) {
      AtomicInteger ofUser = activeByUser.get(userId);
      if (ofUser != null) {
        releaseUser(userId, ofUser);
      }
    }
  }

  int active() {
    return active.get();
  }

  private void releaseUser(String userId, AtomicInteger ofUser) {
    if (ofUser.decrementAndGet() <= 0) {
      activeByUser.remove(userId, ofUser);
    }
  }
}
