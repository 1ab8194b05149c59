package io.streamchat.session;

import java.util.HashMap;
import java.util.Map;

/**
 * Sessions this verticle lost to a newer owner, and how long it waits before it claims one again.
 * When the cluster is split, both sides are asked for a session (by the sockets each side holds)
 * and would take it from each other every second, so that no answer could end; each loss doubles
 * the wait (from {@code firstMs} up to {@code maxMs}), so the owner of the moment keeps the session
 * long enough to make progress. A session not lost again for {@code maxMs} after its wait is
 * forgotten. Single-threaded (the verticle's event loop); bounded by the sessions this verticle owned.
 */
final class ReclaimBackoff {

  private record Lost(int times, long untilMs) {
  }

  private final long firstMs;
  private final long maxMs;
  private final Map<String, Lost> lost = new HashMap<>();

  ReclaimBackoff(long firstMs, long maxMs) {
    this.firstMs = firstMs;
    this.maxMs = maxMs;
  }

  /** The session was taken by a newer owner at {@code nowMs}. */
  void lost(String sessionId, long nowMs) {
    Lost before = current(sessionId, nowMs);
    int times = before == null ? 1 : before.times() + 1;
    long waitMs = Math.min(maxMs, firstMs << Math.min(times - 1, 20));
    lost.put(sessionId, new Lost(times, nowMs + waitMs));
  }

  /** How long to wait before claiming the session at {@code nowMs}; 0: claim it. */
  long waitMs(String sessionId, long nowMs) {
    Lost entry = current(sessionId, nowMs);
    return entry == null ? 0 : Math.max(0, entry.untilMs() - nowMs);
  }

  /** Forgets the sessions whose last loss is long past. */
  void expire(long nowMs) {
    lost.values().removeIf(entry -> longPast(entry, nowMs));
  }

  int size() {
    return lost.size();
  }

  private Lost current(String sessionId, long nowMs) {
    Lost entry = lost.get(sessionId);
    if (entry != null && longPast(entry, nowMs)) {
      lost.remove(sessionId);
      return null;
    }
    return entry;
  }

  private boolean longPast(Lost entry, long nowMs) {
    return nowMs - entry.untilMs() > maxMs;
  }
}
