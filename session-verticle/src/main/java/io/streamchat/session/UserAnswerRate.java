package io.streamchat.session;

import io.micrometer.core.instrument.Counter;
import io.streamchat.protocol.CacheCommand;
import io.streamchat.protocol.ChatException;
import io.vertx.core.Future;

/**
 * How many new answers one user may start per minute, across the cluster: a window counted in
 * Redis by the session's owner. The owner counts only a command that would start an answer (no
 * repeat, nothing streaming) and gives the count back when the command appends nothing after all
 * (a refusal, or a repeat that came meanwhile), so that retrying costs a client nothing. When Redis
 * cannot be asked the answer is let through: a cache outage must not stop answers.
 */
final class UserAnswerRate {

  /** The windows in Redis. */
  interface Windows {
    /** 0 when counted, else the milliseconds until the window ends (not counted). */
    Future<Long> count(CacheCommand.Count count);

    void giveBack(CacheCommand.Uncount uncount);
  }

  private static final long MINUTE_MS = 60_000;

  private final Windows windows;
  private final int perMinute;
  private final Counter refusals;
  private final Counter unchecked;

  /** @param perMinute 0: off */
  UserAnswerRate(Windows windows, int perMinute, Counter refusals, Counter unchecked) {
    this.windows = windows;
    this.perMinute = perMinute;
    this.refusals = refusals;
    this.unchecked = unchecked;
  }

  /** Counts a new answer of {@code userId}, or fails {@code rate_limited} with the wait. Anonymous callers are not counted. */
  Future<Void> count(String userId) {
    if (userId == null || perMinute <= 0) {
      return Future.succeededFuture();
    }
    return windows.count(new CacheCommand.Count(key(userId), perMinute, MINUTE_MS)).transform(result -> {
      if (result.failed()) {
        unchecked.increment();
        return Future.succeededFuture();
      }
      if (result.result() <= 0) {
        return Future.succeededFuture();
      }
      refusals.increment();
      return Future.failedFuture(ChatException.rateLimited("at most " + perMinute
          + " messages a minute; wait before sending again", result.result()));
    });
  }

  /** A counted command started no answer: its count is given back (within the window it was counted in). */
  void giveBack(String userId) {
    if (userId != null && perMinute > 0) {
      windows.giveBack(new CacheCommand.Uncount(key(userId)));
    }
  }

  private static String key(String userId) {
    return "chat:limit:answers:" + userId;
  }
}
