package io.streamchat.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamchat.protocol.CacheCommand.Append;
import io.streamchat.protocol.CacheCommand.AppendOutcome;
import io.streamchat.protocol.CacheCommand.AppendResult;
import io.streamchat.protocol.CacheCommand.Appended;
import io.streamchat.protocol.CacheCommand.Claim;
import io.streamchat.protocol.CacheCommand.Claimed;
import io.streamchat.protocol.CacheCommand;
import io.streamchat.protocol.CacheCommand.Count;
import io.streamchat.protocol.CacheCommand.Place;
import io.streamchat.protocol.CacheCommand.Release;
import io.streamchat.protocol.CacheCommand.StoredEvent;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The Redis layout and its scripts against a real redis-server. */
@ExtendWith(VertxExtension.class)
class RedisSessionStoreTest {

  private static EmbeddedRedis redis;
  private RedisSessionStore store;
  private RedisAPI api;

  @BeforeAll
  static void startRedis() throws Exception {
    redis = EmbeddedRedis.start();
  }

  @AfterAll
  static void stopRedis() {
    redis.close();
  }

  @BeforeEach
  void connect(Vertx vertx) {
    CacheConfig config = new CacheConfig(redis.url(), 3600, 1000, 3, 2000, 2, null);
    Redis client = Redis.createClient(vertx, CacheVerticle.redisOptions(config));
    api = RedisAPI.api(client);
    store = new RedisSessionStore(client, config);
  }

  private static StoredEvent user(long seq, String id) {
    return new StoredEvent(seq, "user_message", "{\"seq\":" + seq + "}", id, "{\"message_id\":\"" + id + "\"}");
  }

  private static StoredEvent chunk(long seq) {
    return new StoredEvent(seq, "chunk", "{\"seq\":" + seq + ",\"index\":0}", "a", null);
  }

  @Test
  void placesAreBoundedTakenAllOrNoneFreedAndLapse() throws Exception {
    Place first = new Place("chat:limit:test:user:a", "c1", 2, 60_000);
    Place second = new Place("chat:limit:test:user:a", "c2", 2, 60_000);
    Place third = new Place("chat:limit:test:user:a", "c3", 2, 60_000);
    Place elsewhere = new Place("chat:limit:test:address:x", "c3", 5, 60_000);
    assertThat(store.hold(List.of(first)).await()).isEqualTo(-1);
    assertThat(store.hold(List.of(first)).await()).as("held again by the same holder").isEqualTo(-1);
    assertThat(store.hold(List.of(second)).await()).isEqualTo(-1);
    assertThat(store.hold(List.of(elsewhere, third)).await()).as("the second place is full").isEqualTo(1);
    assertThat(api.zcard("chat:limit:test:address:x").await().toInteger()).as("none taken when one is refused")
        .isZero();
    store.vacate(List.of(second)).await();
    assertThat(store.renew(List.of(first, second)).await()).as("a place given up is not renewed").isEqualTo(1);
    assertThat(store.hold(List.of(elsewhere, third)).await()).isEqualTo(-1);

    Place lapsing = new Place("chat:limit:test:user:b", "c1", 1, 300);
    assertThat(store.hold(List.of(lapsing)).await()).isEqualTo(-1);
    assertThat(store.hold(List.of(new Place("chat:limit:test:user:b", "c2", 1, 300))).await()).isEqualTo(0);
    Thread.sleep(400);
    assertThat(store.hold(List.of(new Place("chat:limit:test:user:b", "c2", 1, 300))).await())
        .as("the place of a holder that stopped renewing lapsed").isEqualTo(-1);
  }

  @Test
  void moreRequestsThanAConnectionPipelinesAreSplitOverSeveralInOrder() {
    // A gateway renews the places of all its connections at once: far more than one connection takes.
    int many = RedisSessionStore.MAX_PIPELINED * 2 + 10;
    List<Place> held = new ArrayList<>();
    List<Place> refusing = new ArrayList<>();
    for (int i = 0; i < many; i++) {
      held.add(new Place("chat:limit:many:" + i, "c", 1, 60_000));
      refusing.add(new Place("chat:limit:other:" + i, "d", i == many - 1 ? 0 : 1, 60_000));
    }
    assertThat(store.hold(held).await()).isEqualTo(-1);
    assertThat(store.renew(held).await()).isEqualTo(many);
    assertThat(store.hold(refusing).await()).as("the full place, last of the last part").isEqualTo(many - 1);
    assertThat(store.renew(refusing).await()).as("none kept when one is refused").isZero();
    store.vacate(held).await();
    assertThat(store.renew(held).await()).as("every place given up").isZero();
  }

  @Test
  void aCountRefusesBeyondItsLimitWithTheWaitAndCountsNoRefusal() {
    Count count = new Count("chat:limit:test:answers:a", 2, 60_000);
    assertThat(store.count(count).await()).isZero();
    assertThat(store.count(count).await()).isZero();
    long wait = store.count(count).await();
    assertThat(wait).isBetween(1L, 60_000L);
    assertThat(api.get("chat:limit:test:answers:a").await().toInteger()).isEqualTo(2);
  }

  @Test
  void anUncountGivesOneBackInTheWindowAndNeverGoesBelowNothing() {
    Count count = new Count("chat:limit:test:answers:b", 1, 60_000);
    assertThat(store.count(count).await()).isZero();
    assertThat(store.count(count).await()).as("the limit is reached").isPositive();
    store.uncount(new CacheCommand.Uncount(count.key())).await();
    assertThat(store.count(count).await()).as("the place given back is counted again").isZero();
    store.uncount(new CacheCommand.Uncount(count.key())).await();
    store.uncount(new CacheCommand.Uncount(count.key())).await();
    assertThat(api.get(count.key()).await().toInteger()).isZero();
    store.uncount(new CacheCommand.Uncount("chat:limit:test:answers:none")).await();
    assertThat(api.exists(List.of("chat:limit:test:answers:none")).await().toInteger())
        .as("no counter made by a give-back after its window").isZero();
  }

  @Test
  void aStaleFencingTokenCannotAppendASingleEvent() {
    Claimed first = store.claim(new Claim("fenced", "e1", 100, 10)).await();
    Claimed second = store.claim(new Claim("fenced", "e2", 100, 10)).await();
    assertThat(second.fence()).isGreaterThan(first.fence());
    assertThatThrownBy(() -> store.append(new Append("fenced", first.fence(), "u", List.of(user(1, "m1")))).await())
        .hasMessageContaining("fenced");
    assertThat(api.xlen("chat:{fenced}:log").await().toLong()).isZero();
    assertThat(store.append(new Append("fenced", second.fence(), "u", List.of(user(1, "m1")))).await()).isEqualTo(1);
    assertThatThrownBy(() -> store.release(new Release("fenced", first.fence())).await()).hasMessageContaining("fenced");
  }

  @Test
  void oneBatchStoresEachSessionOnItsOwnAndAFencedOneHarmsNoOther() {
    Claimed stale = store.claim(new Claim("batch-a", "e1", 100, 10)).await();
    Claimed current = store.claim(new Claim("batch-a", "e2", 100, 10)).await();
    Claimed other = store.claim(new Claim("batch-b", "e1", 100, 10)).await();
    Appended appended = store.appendAll(List.of(
        new Append("batch-a", stale.fence(), "u", List.of(user(1, "m1"))),
        new Append("batch-b", other.fence(), "u", List.of(user(1, "m1"), chunk(2))),
        new Append("batch-a", current.fence(), "u", List.of(user(1, "m9"))))).await();
    assertThat(appended.results()).containsExactly(new AppendResult(AppendOutcome.FENCED, -1),
        new AppendResult(AppendOutcome.STORED, 2), new AppendResult(AppendOutcome.STORED, 1));
    assertThat(api.xlen("chat:{batch-b}:log").await().toLong()).isEqualTo(2);
    assertThat(api.hget("chat:{batch-a}:messages", "m1").await()).as("the stale owner wrote nothing").isNull();
  }

  @Test
  void theScriptsAreLoadedAgainWhenRedisForgetsThem() {
    Claimed claimed = store.claim(new Claim("noscript", "e1", 100, 10)).await();
    api.script(List.of("FLUSH")).await();
    assertThat(store.append(new Append("noscript", claimed.fence(), "u", List.of(user(1, "m1")))).await()).isEqualTo(1);
  }

  @Test
  void fencingTokensKeepGrowingWhenRedisLosesTheSessionsMetadata() {
    Claimed before = store.claim(new Claim("amnesia", "e1", 10, 10)).await();
    api.del(RedisSessionStore.keys("amnesia")).await();
    Claimed after = store.claim(new Claim("amnesia", "e2", 10, 10)).await();
    assertThat(after.fence()).isGreaterThan(before.fence());
    assertThat(after.epoch()).isEqualTo("e2");
  }

  @Test
  void retriedAppendsAreHarmlessAndHistoryIsCapped() {
    Claimed claimed = store.claim(new Claim("retry", "e1", 100, 10)).await();
    List<StoredEvent> batch = List.of(user(1, "m1"), chunk(2), user(3, "m2"));
    store.append(new Append("retry", claimed.fence(), "u", batch)).await();
    assertThat(store.append(new Append("retry", claimed.fence(), "u", batch)).await()).isEqualTo(3);
    store.append(new Append("retry", claimed.fence(), "u", List.of(user(4, "m3"), user(5, "m4")))).await();
    assertThat(api.xlen("chat:{retry}:log").await().toLong()).isEqualTo(5);
    Claimed again = store.claim(new Claim("retry", "e2", 2, 10)).await();
    assertThat(again.lastSeq()).isEqualTo(5);
    assertThat(again.userId()).isEqualTo("u");
    assertThat(again.messages()).as("capped at 3 messages, oldest out")
        .containsExactly("{\"message_id\":\"m2\"}", "{\"message_id\":\"m3\"}", "{\"message_id\":\"m4\"}");
    assertThat(again.recentEvents()).extracting(StoredEvent::seq).containsExactly(4L, 5L);
  }

  @Test
  void theEpochSurvivesOnlyACleanRelease() {
    Claimed first = store.claim(new Claim("epochs", "e1", 10, 10)).await();
    assertThat(first.epoch()).isEqualTo("e1");
    store.release(new Release("epochs", first.fence())).await();
    Claimed clean = store.claim(new Claim("epochs", "e2", 10, 10)).await();
    assertThat(clean.epoch()).isEqualTo("e1");
    assertThat(clean.epochChanged()).isFalse();
    Claimed crashed = store.claim(new Claim("epochs", "e3", 10, 10)).await();
    assertThat(crashed.epoch()).isEqualTo("e3");
    assertThat(crashed.epochChanged()).isTrue();
  }

  @Test
  void theAnswerInProgressIsLoadedWithItsChunks() {
    Claimed claimed = store.claim(new Claim("streaming", "e1", 10, 10)).await();
    store.append(new Append("streaming", claimed.fence(), "u", List.of(user(1, "q"),
        new StoredEvent(2, "stream_start", "{\"seq\":2}", "a", "{\"message_id\":\"a\",\"status\":\"streaming\"}"),
        chunk(3), chunk(4)))).await();
    Claimed loaded = store.claim(new Claim("streaming", "e2", 1, 10)).await();
    assertThat(loaded.streamingEvents()).extracting(StoredEvent::seq).containsExactly(2L, 3L, 4L);
    assertThat(loaded.recentEvents()).extracting(StoredEvent::seq).containsExactly(4L);
  }

  @Test
  void everyKeyLivesTheTtlAfterAMessageAndChunksRenewItOnceItHasRunDown() {
    Claimed claimed = store.claim(new Claim("ttl", "e1", 10, 10)).await();
    store.append(new Append("ttl", claimed.fence(), "u", List.of(user(1, "q"),
        new StoredEvent(2, "stream_start", "{\"seq\":2}", "a", "{\"message_id\":\"a\",\"status\":\"streaming\"}"))))
        .await();
    for (String key : RedisSessionStore.keys("ttl")) {
      assertThat(api.ttl(key).await().toLong()).as(key).isBetween(3590L, 3600L);
    }
    for (String key : RedisSessionStore.keys("ttl")) {
      api.expire(List.of(key, "3580")).await();
    }
    store.append(new Append("ttl", claimed.fence(), "u", List.of(chunk(3)))).await();
    assertThat(api.ttl("chat:{ttl}:log").await().toLong()).as("a chunk within a minute of the last renewal")
        .isLessThanOrEqualTo(3580L);
    for (String key : RedisSessionStore.keys("ttl")) {
      api.expire(List.of(key, "3500")).await();
    }
    store.append(new Append("ttl", claimed.fence(), "u", List.of(chunk(4)))).await();
    for (String key : RedisSessionStore.keys("ttl")) {
      assertThat(api.ttl(key).await().toLong()).as("renewed: " + key).isBetween(3590L, 3600L);
    }
  }
}
