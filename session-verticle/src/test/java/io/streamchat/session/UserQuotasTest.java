package io.streamchat.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.streamchat.protocol.CacheCommand;
import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.ErrorCode;
import io.vertx.core.Future;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class UserQuotasTest {

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final FakeRedis redis = new FakeRedis();

  private UserQuotas quotas(int streamingPerUser, int perMinute) {
    return new UserQuotas(
        new UserAnswerLimit(redis, streamingPerUser, UserQuotas.ANSWER_LEASE_MS, counter("refused"),
            counter("placeUnchecked")),
        new UserAnswerRate(redis, perMinute, counter("rateRefused"), counter("rateUnchecked")));
  }

  @Test
  void aUserStreamsAsManyAnswersAsTheLimitAndOneMoreOnceOneEnds() {
    UserQuotas quotas = quotas(2, 0);
    assertThat(quotas.take("ann", "s1").succeeded()).isTrue();
    assertThat(quotas.take("ann", "s2").succeeded()).isTrue();
    assertThat(quotas.take("bob", "s3").succeeded()).as("another user's quota").isTrue();

    Future<Void> third = quotas.take("ann", "s4");
    assertRateLimited(third);
    assertThat(registry.counter("refused").count()).isEqualTo(1);

    quotas.answerEnded("ann", "s1");
    assertThat(quotas.take("ann", "s4").succeeded()).isTrue();
    assertThat(redis.places("ann")).containsExactlyInAnyOrder("s2", "s4");
  }

  @Test
  void aRefusalOfTheMinuteGivesThePlaceTakenForItBack() {
    UserQuotas quotas = quotas(5, 1);
    assertThat(quotas.take("ann", "s1").succeeded()).isTrue();
    quotas.answerEnded("ann", "s1");

    assertRateLimited(quotas.take("ann", "s2"));
    assertThat(redis.places("ann")).as("no place kept for an answer that never started").isEmpty();
    assertThat(registry.counter("rateRefused").count()).isEqualTo(1);
  }

  @Test
  void aCommandThatStartedNothingGivesBackItsCountAndItsPlaceUnlessAnAnswerStreams() {
    UserQuotas quotas = quotas(1, 2);
    assertThat(quotas.take("ann", "s1").succeeded()).isTrue();
    quotas.giveBack("ann", "s1", true);
    assertThat(redis.places("ann")).as("the answer streaming keeps its place").containsExactly("s1");
    assertThat(redis.counted("ann")).isZero();
    quotas.answerEnded("ann", "s1");

    assertThat(quotas.take("ann", "s2").succeeded()).isTrue();
    quotas.giveBack("ann", "s2", false);
    assertThat(redis.places("ann")).isEmpty();
    assertThat(redis.counted("ann")).isZero();

    for (String session : List.of("s3", "s4")) {
      assertThat(quotas.take("ann", session).succeeded()).as("both given back: two more in the minute").isTrue();
      quotas.answerEnded("ann", session);
    }
    assertRateLimited(quotas.take("ann", "s5"));
  }

  @Test
  void whenRedisCannotBeAskedTheAnswerIsLetThroughAndCounted() {
    UserQuotas quotas = quotas(1, 1);
    redis.down = true;
    assertThat(quotas.take("ann", "s1").succeeded()).isTrue();
    assertThat(quotas.take("ann", "s2").succeeded()).isTrue();
    assertThat(registry.counter("placeUnchecked").count()).isEqualTo(2);
    assertThat(registry.counter("rateUnchecked").count()).isEqualTo(2);
  }

  @Test
  void theAnswersItIsGivenAreRenewedAndNothingWhenNoneStream() {
    UserQuotas quotas = quotas(3, 0);
    quotas.renew(List.of());
    assertThat(redis.renewed).isEmpty();
    quotas.renew(List.of(new UserAnswerLimit.Streaming("ann", "s1")));
    assertThat(redis.renewed).extracting(CacheCommand.Place::holderId).containsExactly("s1");
    assertThat(quotas.renewEveryMs()).isLessThan(UserQuotas.ANSWER_LEASE_MS / 2);
  }

  private static void assertRateLimited(Future<Void> taken) {
    assertThat(taken.failed()).isTrue();
    ChatException refusal = (ChatException) taken.cause();
    assertThat(refusal.code()).isEqualTo(ErrorCode.RATE_LIMITED);
    assertThat(refusal.retryAfterMs()).isPositive();
  }

  private Counter counter(String name) {
    return registry.counter(name);
  }

  /** The bounded sets and minute counts that Redis keeps, in memory (no lease expiry, no window end). */
  private static final class FakeRedis implements UserAnswerLimit.Places, UserAnswerRate.Windows {
    final Map<String, Set<String>> sets = new HashMap<>();
    final Map<String, Integer> counts = new HashMap<>();
    final List<CacheCommand.Place> renewed = new java.util.ArrayList<>();
    boolean down;

    Set<String> places(String user) {
      return sets.entrySet().stream().filter(e -> e.getKey().endsWith(":" + user)).map(Map.Entry::getValue)
          .findFirst().orElse(Set.of());
    }

    int counted(String user) {
      return counts.entrySet().stream().filter(e -> e.getKey().endsWith(":" + user)).mapToInt(Map.Entry::getValue)
          .sum();
    }

    @Override
    public Future<Integer> hold(List<CacheCommand.Place> places) {
      if (down) {
        return Future.failedFuture("redis is away");
      }
      for (int i = 0; i < places.size(); i++) {
        CacheCommand.Place place = places.get(i);
        Set<String> holders = sets.computeIfAbsent(place.key(), k -> new LinkedHashSet<>());
        if (!holders.contains(place.holderId()) && holders.size() >= place.limit()) {
          return Future.succeededFuture(i);
        }
        holders.add(place.holderId());
      }
      return Future.succeededFuture(-1);
    }

    @Override
    public void renew(List<CacheCommand.Place> places) {
      renewed.addAll(places);
    }

    @Override
    public void vacate(List<CacheCommand.Place> places) {
      places.forEach(place -> sets.getOrDefault(place.key(), new LinkedHashSet<>()).remove(place.holderId()));
    }

    @Override
    public Future<Long> count(CacheCommand.Count count) {
      if (down) {
        return Future.failedFuture("redis is away");
      }
      int counted = counts.getOrDefault(count.key(), 0);
      if (counted >= count.limit()) {
        return Future.succeededFuture(count.windowMs());
      }
      counts.put(count.key(), counted + 1);
      return Future.succeededFuture(0L);
    }

    @Override
    public void giveBack(CacheCommand.Uncount uncount) {
      counts.computeIfPresent(uncount.key(), (k, n) -> Math.max(0, n - 1));
    }
  }
}
