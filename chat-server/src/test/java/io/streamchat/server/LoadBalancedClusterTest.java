package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.streamchat.cache.EmbeddedRedis;
import io.streamchat.testkit.ChatFollower;
import io.streamchat.testkit.FakeOpenAi;
import io.streamchat.testkit.FakeOpenAi.Script;
import io.streamchat.testkit.NodeProcess;
import io.streamchat.testkit.PrometheusText;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster shape of docker-compose.yml on loopback: the same jar three times behind
 * nginx, with the compose file's nginx configuration (round robin, no stickiness, WebSocket
 * upgrade). A rolling restart of every node while 50 clients stream answers back to back through
 * nginx: every answer completes exactly, no client sees an error frame, and /metrics, scraped from
 * every node during the roll, shows the counters moving.
 */
class LoadBalancedClusterTest {

  private static final Path NGINX = Path.of("/usr/sbin/nginx");
  private static final int CLIENTS = 50;
  private static final int TOKENS = 20;

  @TempDir
  Path nginxDir;

  private final List<NodeProcess> started = new CopyOnWriteArrayList<>();

  @RegisterExtension
  final NodeLogsInFailures nodeLogsInFailures = new NodeLogsInFailures(() -> started);

  @Test
  void aRollingRestartBehindNginxCompletesEveryAnswerExactlyWhileTheMetricsMove() throws Exception {
    assumeTrue(Files.isExecutable(NGINX), "nginx is not installed (apt-get install nginx-light); CI installs it");
    int clusterPort = NodeProcess.freePortBlock(6);
    int firstHttpPort = NodeProcess.freePortBlock(4);
    int balancerPort = firstHttpPort + 3;
    Vertx vertx = Vertx.vertx();
    Process nginx = null;
    EmbeddedRedis redis = EmbeddedRedis.start();
    try {
      FakeOpenAi ai = FakeOpenAi.start(vertx);
      ai.script(Script.tokens(TOKENS, 10));
      Map<String, String> env = new HashMap<>(BackToBackClient.clusterSettings(clusterPort, redis.url(), ai.baseUrl()));
      // nginx is the client's address: per-address limits would count every client as one.
      env.put("CHAT_TRUST_FORWARDED_FOR", "true");
      NodeProcess[] slots = new NodeProcess[3];
      for (int slot = 0; slot < 3; slot++) {
        slots[slot] = startNode(env, slot, firstHttpPort, started);
      }
      for (NodeProcess node : slots) {
        node.awaitReady(3, Duration.ofSeconds(90));
      }
      nginx = startNginx(firstHttpPort, balancerPort);

      AtomicBoolean rolling = new AtomicBoolean(true);
      List<String> errors = new CopyOnWriteArrayList<>();
      List<ChatFollower> followers = new ArrayList<>();
      ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
      List<Future<Integer>> asked = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        ChatFollower follower = new ChatFollower();
        followers.add(follower);
        String session = "balanced-" + c;
        asked.add(pool.submit(() -> BackToBackClient.ask(() -> connect(vertx, balancerPort, session, follower), session,
            follower, rolling, errors)));
      }
      List<PrometheusText> scrapes = new CopyOnWriteArrayList<>();
      Thread scraper = new Thread(() -> scrapeWhile(slots, rolling, scrapes), "scraper");
      scraper.start();
      Thread.sleep(2000);
      for (int slot = 0; slot < 3; slot++) {
        assertThat(slots[slot].terminate(Duration.ofSeconds(60))).as("node exits on SIGTERM").isTrue();
        slots[slot] = startNode(env, slot, firstHttpPort, started);
        for (NodeProcess node : slots) {
          node.awaitReady(3, Duration.ofSeconds(90));
        }
        Thread.sleep(1000);
      }
      rolling.set(false);
      int total = 0;
      for (Future<Integer> count : asked) {
        total += count.get(90, TimeUnit.SECONDS);
      }
      pool.shutdownNow();
      scraper.join();
      System.out.printf("ROLLING RESTART behind nginx: %d clients asked %d questions back to back, %d errors, "
          + "%d scrapes, %.0f sessions failed over (taken from a node that did not hand them off)%n", CLIENTS, total,
          errors.size(), scrapes.size(),
          scrapes.stream().mapToDouble(s -> s.sum("chat_session_failovers_total")).max().orElse(0));

      assertThat(errors).as("error frames during the rolling restart").isEmpty();
      for (ChatFollower follower : followers) {
        assertThat(follower.violations()).isEmpty();
        assertThat(follower.messages().values()).filteredOn(m -> m.role.equals("assistant")).isNotEmpty()
            .allSatisfy(m -> {
              assertThat(m.status).isEqualTo("completed");
              assertThat(m.content.toString()).isEqualTo(StreamingProtocolTest.expectedAnswer(TOKENS));
            });
      }
      assertThat(scrapes).as("scrapes during the roll").hasSizeGreaterThan(10);
      assertThat(scrapes.stream().mapToDouble(s -> s.sum("chat_chunk_delivery_seconds_count")).max().orElse(0))
          .as("chunk deliveries timed").isPositive();
      assertThat(risesBetweenScrapes(scrapes, "chat_session_leases_total")).as("sessions taken over from leaving nodes")
          .isPositive();
      assertThat(scrapes.stream().mapToDouble(s -> s.sum("chat_resumes_total", Map.of("outcome", "recovered")))
          .max().orElse(0)).as("clients resumed on another node").isPositive();
      assertThat(risesBetweenScrapes(scrapes, "chat_answers_total")).as("answers counted as they complete")
          .isGreaterThan(3);
      ai.close();
    } finally {
      if (nginx != null) {
        nginx.destroy();
        nginx.waitFor(10, TimeUnit.SECONDS);
      }
      for (NodeProcess node : started) {
        node.close();
      }
      redis.close();
      vertx.close().await();
    }
  }

  private static NodeProcess startNode(Map<String, String> env, int slot, int firstHttpPort, List<NodeProcess> started)
      throws IOException {
    Map<String, String> settings = new HashMap<>(env);
    settings.put("CHAT_HTTP_PORT", Integer.toString(firstHttpPort + slot));
    NodeProcess node = NodeProcess.start("lb-node" + (slot + 1) + "-" + started.size(), settings,
        List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
    started.add(node);
    return node;
  }

  /** deploy/nginx.conf, with the compose file's node names and port replaced by loopback ports. */
  private Process startNginx(int firstHttpPort, int balancerPort) throws Exception {
    String config = Files.readString(Path.of("..", "deploy", "nginx.conf"));
    for (int slot = 0; slot < 3; slot++) {
      String upstream = "server node" + (slot + 1) + ":8080 ";
      assertThat(config).contains(upstream);
      config = config.replace(upstream, "server 127.0.0.1:" + (firstHttpPort + slot) + " ");
    }
    assertThat(config).contains("listen 8080;");
    config = config.replace("listen 8080;", "listen 127.0.0.1:" + balancerPort + ";");
    Files.createDirectories(nginxDir.resolve("logs"));
    Path file = nginxDir.resolve("nginx.conf");
    Files.writeString(file, config);
    Process nginx = new ProcessBuilder(NGINX.toString(), "-p", nginxDir + "/", "-c", file.toString(), "-g",
        "daemon off; master_process off; pid " + nginxDir.resolve("nginx.pid") + "; error_log "
            + nginxDir.resolve("logs/error.log") + " warn;")
        .redirectErrorStream(true).redirectOutput(nginxDir.resolve("logs/nginx.out").toFile()).start();
    for (int attempt = 0; attempt < 100; attempt++) {
      try (java.net.Socket probe = new java.net.Socket("127.0.0.1", balancerPort)) {
        return nginx;
      } catch (IOException notYet) {
        assertThat(nginx.isAlive()).as("nginx runs: " + Files.readString(nginxDir.resolve("logs/nginx.out")))
            .isTrue();
        Thread.sleep(100);
      }
    }
    throw new AssertionError("nginx does not listen on " + balancerPort);
  }

  private static void scrapeWhile(NodeProcess[] slots, AtomicBoolean rolling, List<PrometheusText> scrapes) {
    while (rolling.get()) {
      for (NodeProcess node : slots.clone()) {
        try {
          scrapes.add(PrometheusText.parse(node.get("/metrics")));
        } catch (IOException restarting) {
          // that node is between its stop and its start
        } catch (InterruptedException e) {
          return;
        }
      }
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** How often a node's value of {@code name} grew from one of its scrapes to its next. */
  private static int risesBetweenScrapes(List<PrometheusText> scrapes, String name) {
    Map<String, Double> last = new HashMap<>();
    int rises = 0;
    for (PrometheusText scrape : scrapes) {
      String node = scrape.samples.stream().filter(s -> s.name().equals(name)).findFirst()
          .map(s -> s.labels().get("node")).orElse(null);
      if (node == null) {
        continue;
      }
      double value = scrape.sum(name);
      Double before = last.put(node, value);
      if (before != null && value > before) {
        rises++;
      }
    }
    return rises;
  }

  private static TestSocket connect(Vertx vertx, int port, String session, ChatFollower follower)
      throws InterruptedException {
    for (int attempt = 0; ; attempt++) {
      String query = "session_id=" + session;
      if (follower.hasCursor()) {
        query += "&last_seq=" + follower.seq() + "&epoch=" + follower.epoch();
      }
      try {
        return TestSocket.connect(vertx, port, query, follower);
      } catch (RuntimeException refused) {
        // As a browser would, for a minute: nginx answers 502 while no node is in its rotation.
        if (attempt > 300) {
          throw refused;
        }
        Thread.sleep(200);
      }
    }
  }
}
