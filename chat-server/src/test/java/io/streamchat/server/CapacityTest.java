package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.cache.EmbeddedRedis;
import io.streamchat.testkit.FakeOpenAi;
import io.streamchat.testkit.FakeOpenAi.Script;
import io.streamchat.testkit.NodeProcess;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A node with its default settings streams 2,000 answers at once: none refused, none failed.
 * Short answers: this is about capacity, not speed.
 */
class CapacityTest {

  private static final int ANSWERS = 2000;

  private final List<NodeProcess> nodes = new CopyOnWriteArrayList<>();

  @RegisterExtension
  final NodeLogsInFailures nodeLogsInFailures = new NodeLogsInFailures(() -> nodes);

  @Test
  void twoThousandConcurrentAnswersOnOneNodeWithDefaultSettingsAreNeitherRefusedNorFailed() throws Exception {
    Vertx vertx = Vertx.vertx();
    try (EmbeddedRedis redis = EmbeddedRedis.start()) {
      FakeOpenAi ai = FakeOpenAi.start(vertx);
      // Each answer lasts about twenty seconds, far longer than asking all of them takes even on a
      // slow machine: every one of them is still streaming while the last ones are asked.
      ai.script(Script.tokens(20, 1000));
      NodeProcess node = NodeProcess.start("capacity", Map.of(
          "CHAT_REDIS_URL", redis.url(),
          "CHAT_DB_URL", "none",
          "CHAT_KAFKA_BOOTSTRAP", "none",
          "CHAT_AI_PROVIDER", "openai",
          "CHAT_AI_BASE_URL", ai.baseUrl()), List.of("-Xmx768m"));
      nodes.add(node);
      try {
        node.awaitReady(1, Duration.ofSeconds(60));
        HttpClientAgent http = vertx.createHttpClient(new HttpClientOptions().setDefaultPort(node.httpPort)
            .setDefaultHost("127.0.0.1"), new PoolOptions().setHttp1MaxSize(64));
        AtomicLong peak = new AtomicLong();
        long sampler = vertx.setPeriodic(200, id -> vertx.executeBlocking(() -> node.metric("chat_answers_active"))
            .onSuccess(active -> peak.accumulateAndGet(active, Math::max)));
        String run = Long.toString(System.nanoTime(), 36);
        List<Future<Integer>> asked = new ArrayList<>();
        for (int i = 0; i < ANSWERS; i++) {
          asked.add(post(http, "/api/chat", new JsonObject().put("session_id", "cap-" + run + "-" + i)
              .put("message", "question " + i)));
        }
        Future.join(asked).await(3, TimeUnit.MINUTES);
        assertThat(asked).as("every message accepted (202)").allSatisfy(f -> assertThat(f.succeeded() ? f.result() : f.cause()).isEqualTo(202));
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        List<String> statuses = List.of();
        while (System.nanoTime() < deadline) {
          statuses = statuses(vertx, node.httpPort, run);
          if (statuses.stream().noneMatch(status -> status.equals("streaming") || status.equals("unanswered"))) {
            break;
          }
          Thread.sleep(1000);
        }
        vertx.cancelTimer(sampler);
        assertThat(statuses).hasSize(ANSWERS).allMatch("completed"::equals);
        assertThat(peak.get()).as("answers streaming at once").isGreaterThanOrEqualTo(ANSWERS * 19 / 20);
        assertThat(node.metric("chat_answers_refused_total")).isZero();
        System.out.println("CAPACITY " + ANSWERS + " answers accepted and completed; peak streaming at once: " + peak.get());
      } finally {
        node.terminate(Duration.ofSeconds(30));
        node.close();
        ai.close();
      }
    } finally {
      vertx.close().await();
    }
  }

  private static Future<Integer> post(HttpClientAgent http, String path, JsonObject body) {
    return http.request(new RequestOptions().setMethod(HttpMethod.POST).setURI(path).setConnectTimeout(60_000).setIdleTimeout(30_000)
            .putHeader("content-type", "application/json"))
        .compose(request -> request.send(body.toBuffer()))
        .compose(response -> response.body().map(b -> response.statusCode()));
  }

  /**
   * The status of the assistant message of every session of this run. Each round asks on a client of
   * its own, and every answer not back in 30 seconds counts as unanswered: a client pool that loses
   * track of a connection under this load cannot stall the test.
   */
  private static List<String> statuses(Vertx vertx, int port, String run) {
    HttpClientAgent http = vertx.createHttpClient(new HttpClientOptions().setDefaultPort(port)
        .setDefaultHost("127.0.0.1"), new PoolOptions().setHttp1MaxSize(64));
    try {
      List<Future<String>> all = new ArrayList<>();
      for (int i = 0; i < ANSWERS; i++) {
        all.add(http.request(new RequestOptions().setMethod(HttpMethod.GET).setURI("/api/history/cap-" + run + "-" + i)
                .setConnectTimeout(20_000).setIdleTimeout(10_000))
            .compose(request -> request.send())
            .compose(response -> response.body())
            .map(Buffer::toJsonObject)
            .map(history -> history.getJsonArray("messages").size() < 2 ? "missing"
                : history.getJsonArray("messages").getJsonObject(1).getString("status"))
            .timeout(30, TimeUnit.SECONDS)
            .otherwise("unanswered"));
      }
      Future.join(all).await();
      return all.stream().map(Future::result).toList();
    } finally {
      http.close().await();
    }
  }
}
