package io.streamchat.session;

import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.CacheCommand;
import io.streamchat.protocol.Metrics;
import io.streamchat.protocol.Nearest;
import io.streamchat.protocol.NodeSettings;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import java.util.List;

/**
 * A user's share of the answers, across the cluster: how many stream at once
 * (CHAT_AI_MAX_ACTIVE_PER_USER, {@link UserAnswerLimit}) and how many start in a minute
 * ({@link UserAnswerRate}). A new answer takes both before anything of it is appended; a command
 * that starts nothing after all gives both back.
 */
final class UserQuotas {

  /** How long a user's streaming answer counts on its own; renewed while it streams. */
  static final long ANSWER_LEASE_MS = 30_000;

  private final UserAnswerLimit streaming;
  private final UserAnswerRate perMinute;

  UserQuotas(UserAnswerLimit streaming, UserAnswerRate perMinute) {
    this.streaming = streaming;
    this.perMinute = perMinute;
  }

  /** The quotas kept in Redis, asked through the cache verticles. */
  static UserQuotas inRedis(Vertx vertx, DeliveryOptions requestOptions, NodeSettings node, Metrics metrics) {
    RedisCounts counts = new RedisCounts(vertx, requestOptions);
    UserAnswerLimit streaming = new UserAnswerLimit(counts, node.maxAnswersPerUser(), ANSWER_LEASE_MS,
        metrics.counter("chat_answers_refused_user_total",
            "New answers refused rate_limited because the user has as many streaming as CHAT_AI_MAX_ACTIVE_PER_USER"),
        metrics.counter("chat_answers_user_limit_unchecked_total",
            "New answers let through because Redis could not be asked for the user's limit"));
    UserAnswerRate perMinute = new UserAnswerRate(counts, node.maxAnswersPerUserMinute(), metrics.limitRefusals(),
        metrics.limitsUnchecked());
    return new UserQuotas(streaming, perMinute);
  }

  /** Takes the user's place for a new answer of the session and counts it in the user's minute, or fails {@code rate_limited}. */
  Future<Void> take(String userId, String sessionId) {
    return streaming.admit(userId, sessionId)
        .compose(placed -> perMinute.count(userId).onFailure(refused -> streaming.release(userId, sessionId)));
  }

  /**
   * The command that took them started no answer: the minute's count goes back, and the place too
   * unless an answer of the session streams (a repeat of the command that started it).
   */
  void giveBack(String userId, String sessionId, boolean answerStreaming) {
    perMinute.giveBack(userId);
    if (!answerStreaming) {
      streaming.release(userId, sessionId);
    }
  }

  /** The session's answer ended, or the session left this node. */
  void answerEnded(String userId, String sessionId) {
    streaming.release(userId, sessionId);
  }

  /** Keeps the places of answers still streaming; call it every {@link #renewEveryMs()}. */
  void renew(List<UserAnswerLimit.Streaming> answers) {
    streaming.renew(answers);
  }

  long renewEveryMs() {
    return streaming.leaseMs() / 3;
  }

  /** The user's places and minute windows in Redis, through the cache verticles. */
  private record RedisCounts(Vertx vertx, DeliveryOptions requestOptions)
      implements UserAnswerLimit.Places, UserAnswerRate.Windows {

    @Override
    public Future<Integer> hold(List<CacheCommand.Place> places) {
      return Nearest.request(vertx, Addresses.CACHE, new CacheCommand.Hold(places), requestOptions)
          .map(reply -> (Integer) reply.body());
    }

    @Override
    public void renew(List<CacheCommand.Place> places) {
      Nearest.request(vertx, Addresses.CACHE, new CacheCommand.Renew(places), requestOptions);
    }

    @Override
    public void vacate(List<CacheCommand.Place> places) {
      Nearest.request(vertx, Addresses.CACHE, new CacheCommand.Vacate(places), requestOptions);
    }

    @Override
    public Future<Long> count(CacheCommand.Count count) {
      return Nearest.request(vertx, Addresses.CACHE, count, requestOptions).map(reply -> (Long) reply.body());
    }

    @Override
    public void giveBack(CacheCommand.Uncount uncount) {
      Nearest.request(vertx, Addresses.CACHE, uncount, requestOptions);
    }
  }
}
