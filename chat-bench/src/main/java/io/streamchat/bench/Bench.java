package io.streamchat.bench;

import io.streamchat.cache.EmbeddedRedis;
import io.streamchat.protocol.LocalServers;
import io.streamchat.testkit.FakeOpenAi;
import io.streamchat.testkit.FakeOpenAi.Script;
import io.streamchat.testkit.KafkaProcess;
import io.streamchat.testkit.NodeProcess;
import io.streamchat.testkit.ProcessCpu;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The load tool. It runs the AI provider in-process (tokens carry their emit time, read on the
 * same clock when they arrive), starts the server as separate JVM processes with a Redis of its
 * own, drives WebSocket sessions and prints what it measured. See BENCHMARKS.md.
 */
public final class Bench {

  private Bench() {
  }

  public static void main(String[] args) throws Exception {
    BenchResult result = run(BenchOptions.parse(args));
    System.out.println(result.report());
    System.exit(result.clean() ? 0 : 1);
  }

  static BenchResult run(BenchOptions options) throws Exception {
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
    List<NodeProcess> nodes = new ArrayList<>();
    Path data = options.embedded() ? Files.createTempDirectory("bench-node-data") : null;
    try (EmbeddedRedis redis = options.embedded() ? null : EmbeddedRedis.start();
         KafkaProcess kafka = options.audit() ? KafkaProcess.start() : null) {
      try {
        return measure(options, vertx, redis, kafka, nodes, data);
      } finally {
        // The nodes stop before Redis and Kafka do, so that they hand their sessions off cleanly.
        for (NodeProcess node : nodes) {
          node.terminate(Duration.ofSeconds(30));
          node.close();
        }
      }
    } finally {
      vertx.close().await();
      if (data != null) {
        LocalServers.deleteTree(data);
      }
    }
  }

  private static BenchResult measure(BenchOptions options, Vertx vertx, EmbeddedRedis redis, KafkaProcess kafka,
                                     List<NodeProcess> nodes, Path data) throws Exception {
    FakeOpenAi ai = FakeOpenAi.start(vertx);
    ai.script(Script.tokens(options.tokens(), Math.max(1, 1000 / options.rate())).stamped());
    startNodes(options, redis, kafka, ai, nodes, data);
    BenchResult result = new BenchResult(options);
    result.machine = machine();
    WebSocketClient client = vertx.createWebSocketClient(new WebSocketClientOptions()
        .setMaxConnections(Integer.MAX_VALUE).setConnectTimeout(30_000)
        .setMaxFrameSize(16 << 20).setMaxMessageSize(64 << 20) // a `complete` carries the whole answer
        .setTryUsePerMessageCompression(options.compression()));
    if (options.warmup() > 0 && !"idle".equals(options.mode())) {
      ai.script(Script.tokens(50, Math.max(1, 1000 / options.rate())).stamped());
      BenchOptions warmup = new BenchOptions("stream", options.warmup(), 50, options.rate(), options.rampBatch(),
          options.nodes(), options.heap(), options.timeoutSec(), null, 0, options.audit(), 0, false, 1,
          options.compression(), options.embedded());
      stream(warmup, client, nodes, redis, ai, new BenchResult(options));
      ai.script(Script.tokens(options.tokens(), Math.max(1, 1000 / options.rate())).stamped());
    }
    switch (options.mode()) {
      case "idle" -> idle(options, client, nodes, result);
      case "storm" -> storm(options, client, nodes, result);
      default -> {
        for (int round = 1; round < options.rounds(); round++) {
          BenchResult earlier = new BenchResult(options);
          earlier.machine = result.machine;
          stream(options, client, nodes, redis, ai, earlier);
          System.out.printf(Locale.ROOT, "round %d of %d%n%s%n", round, options.rounds(), earlier.report());
          result.earlierRoundsClean &= earlier.clean();
        }
        stream(options, client, nodes, redis, ai, result);
      }
    }
    ai.close();
    return result;
  }

  private static void startNodes(BenchOptions options, EmbeddedRedis redis, KafkaProcess kafka, FakeOpenAi ai,
                                 List<NodeProcess> nodes, Path data) throws Exception {
    if (options.embedded()) {
      Map<String, String> env = Map.of("CHAT_AI_PROVIDER", "openai", "CHAT_AI_BASE_URL", ai.baseUrl(),
          "CHAT_DATA_DIR", data.toString());
      List<String> jvm = extraJvmOptions(options, 0);
      nodes.add(NodeProcess.start("bench-node1", env, jvm).awaitReady(1, Duration.ofSeconds(120)));
      return;
    }
    int clusterPort = NodeProcess.freePortBlock(options.nodes());
    List<String> members = new ArrayList<>();
    for (int i = 0; i < options.nodes(); i++) {
      members.add("127.0.0.1:" + (clusterPort + i));
    }
    for (int i = 0; i < options.nodes(); i++) {
      Map<String, String> env = new HashMap<>(Map.of(
          "CHAT_REDIS_URL", redis.url(),
          "CHAT_DB_URL", "none",
          "CHAT_KAFKA_BOOTSTRAP", kafka == null ? "none" : kafka.bootstrap(),
          "CHAT_AI_PROVIDER", "openai",
          "CHAT_AI_BASE_URL", ai.baseUrl()));
      String eventLoops = System.getenv("CHAT_EVENT_LOOPS");
      if (eventLoops != null) {
        env.put("CHAT_EVENT_LOOPS", eventLoops);
      }
      if (options.nodes() > 1) {
        env.put("CHAT_CLUSTER_MEMBERS", String.join(",", members));
        env.put("CHAT_CLUSTER_PORT", Integer.toString(clusterPort));
      }
      List<String> jvm = new ArrayList<>(List.of("-Xmx" + options.heap(), "-Xms" + options.heap(),
          "-XX:+AlwaysPreTouch"));
      jvm.addAll(extraJvmOptions(options, i));
      if (jvm.stream().noneMatch(option -> option.matches("-XX:\\+Use\\w+GC"))) {
        jvm.add("-XX:+UseG1GC");
      }
      nodes.add(NodeProcess.start("bench-node" + (i + 1), env, jvm));
    }
    for (NodeProcess node : nodes) {
      node.awaitReady(options.nodes(), Duration.ofSeconds(90));
    }
  }

  /** {@code BENCH_SERVER_JVM_OPTIONS}, and the flight recording when one is asked for. */
  private static List<String> extraJvmOptions(BenchOptions options, int node) {
    List<String> jvm = new ArrayList<>();
    String extra = System.getenv("BENCH_SERVER_JVM_OPTIONS");
    if (extra != null && !extra.isBlank()) {
      jvm.addAll(List.of(extra.trim().split("\\s+")));
    }
    if (options.jfr() != null) {
      jvm.add("-XX:StartFlightRecording=filename=" + options.jfr().replace(".jfr", "-" + (node + 1) + ".jfr")
          + ",settings=profile,dumponexit=true");
    }
    return jvm;
  }

  private static List<BenchSession> sessions(BenchOptions options, Recorder latency, Recorder firstToken) {
    List<BenchSession> sessions = new ArrayList<>();
    String run = Long.toString(System.currentTimeMillis(), 36);
    for (int i = 0; i < options.sessions(); i++) {
      sessions.add(new BenchSession("b" + run + "-" + i, latency, firstToken));
    }
    return sessions;
  }

  /** Opens the sessions' sockets in batches, spread over the nodes. */
  private static void connectAll(BenchOptions options, WebSocketClient client, List<NodeProcess> nodes,
                                 List<BenchSession> sessions, BenchResult result) {
    for (int from = 0; from < sessions.size(); from += options.rampBatch()) {
      List<Future<Void>> batch = new ArrayList<>();
      for (int i = from; i < Math.min(sessions.size(), from + options.rampBatch()); i++) {
        batch.add(sessions.get(i).connect(client, nodes.get(i % nodes.size()).httpPort)
            .onFailure(e -> result.connectFailures++));
      }
      Future.join(batch).otherwiseEmpty().await();
    }
  }

  private static void stream(BenchOptions options, WebSocketClient client, List<NodeProcess> nodes,
                             EmbeddedRedis redis, FakeOpenAi ai, BenchResult result) throws Exception {
    Recorder latency = new Recorder(3);
    Recorder firstToken = new Recorder(3);
    BenchSession large = options.largeAnswerTokens() > 0 ? startLargeAnswer(options, client, nodes, ai) : null;
    List<BenchSession> sessions = sessions(options, latency, firstToken);
    CountDownLatch done = new CountDownLatch(sessions.size());
    sessions.forEach(s -> {
      s.onComplete = x -> done.countDown();
      s.onClosed = x -> done.countDown();
      s.ask("benchmark question " + s.id);
    });
    long cpuBefore = cpu(nodes);
    long redisCpuBefore = redisCpu(redis, nodes);
    long allocatedBefore = allocated(nodes);
    long start = System.nanoTime();
    connectAll(options, client, nodes, sessions, result);
    result.rampSeconds = (System.nanoTime() - start) / 1e9;
    sampleMemoryWhile(done, options, nodes, result);
    result.wallSeconds = (System.nanoTime() - start) / 1e9;
    result.serverCpuPercent = 100.0 * (cpu(nodes) - cpuBefore) / (result.wallSeconds * 1000);
    result.redisCpuPercent = 100.0 * (redisCpu(redis, nodes) - redisCpuBefore) / (result.wallSeconds * 1000);
    result.allocatedBytes = allocated(nodes) - allocatedBefore;
    result.latency = latency.getIntervalHistogram();
    result.firstToken = firstToken.getIntervalHistogram();
    for (BenchSession s : sessions) {
      result.chunks += s.chunks;
      result.gaps += s.gaps;
      result.duplicates += s.duplicates;
      result.errors += s.errors + s.closedByServer;
      result.completed += s.completed ? 1 : 0;
    }
    if (large != null) {
      finishLargeAnswer(options, large, result);
    }
  }

  /** Bytes by which each token of the large answer is longer: a 3,000-token answer is about 12 MB. */
  private static final int SLOW_TOKEN_PADDING = 4000;

  /** A session whose answer is large; with {@code --slow-reader} it stops reading it as soon as it starts. */
  private static BenchSession startLargeAnswer(BenchOptions options, WebSocketClient client, List<NodeProcess> nodes,
                                               FakeOpenAi ai) throws Exception {
    BenchSession slow = new BenchSession("large-" + Long.toString(System.currentTimeMillis(), 36), new Recorder(3),
        new Recorder(3));
    CountDownLatch started = new CountDownLatch(1);
    slow.onStreamStart = s -> {
      if (options.largeReaderStops()) {
        s.pauseReading();
      }
      started.countDown();
    };
    ai.script(Script.tokens(options.largeAnswerTokens(), 1).paddedBy(SLOW_TOKEN_PADDING));
    int requestsBefore = ai.requests().size();
    slow.ask("a large answer, please");
    slow.connect(client, nodes.get(0).httpPort).await(30, TimeUnit.SECONDS);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (ai.requests().size() == requestsBefore && System.nanoTime() < deadline) {
      Thread.sleep(10); // the provider takes the script when the request arrives, after stream_start
    }
    if (!started.await(30, TimeUnit.SECONDS) || ai.requests().size() == requestsBefore) {
      throw new IllegalStateException("the large answer did not start");
    }
    ai.script(Script.tokens(options.tokens(), Math.max(1, 1000 / options.rate())).stamped());
    return slow;
  }

  /** The large answer's session reads on (if it had stopped): it must get every chunk, once and in order. */
  private static void finishLargeAnswer(BenchOptions options, BenchSession slow, BenchResult result) throws Exception {
    CountDownLatch done = new CountDownLatch(1);
    slow.onComplete = s -> done.countDown();
    long start = System.nanoTime();
    if (slow.completed) {
      done.countDown();
    }
    if (options.largeReaderStops()) {
      slow.resumeReading();
    }
    done.await(options.timeoutSec(), TimeUnit.SECONDS);
    result.slowReaderCatchUpSeconds = (System.nanoTime() - start) / 1e9;
    result.slowReaderChunks = slow.chunks;
    result.slowReaderState = String.format(Locale.ROOT, "completed=%s gaps=%d duplicates=%d errors=%d closed=%d",
        slow.completed, slow.gaps, slow.duplicates, slow.errors, slow.closedByServer);
    result.slowReaderExact = slow.completed && slow.chunks == options.largeAnswerTokens() && slow.gaps == 0
        && slow.duplicates == 0 && slow.errors == 0 && slow.closedByServer == 0;
  }

  private static void idle(BenchOptions options, WebSocketClient client, List<NodeProcess> nodes,
                           BenchResult result) throws Exception {
    NodeProcess node = nodes.get(0);
    node.gc();
    long heapBefore = node.metric("jvm_heap_used_bytes");
    List<BenchSession> sessions = sessions(options, new Recorder(3), new Recorder(3));
    long start = System.nanoTime();
    connectAll(options, client, nodes, sessions, result);
    result.rampSeconds = (System.nanoTime() - start) / 1e9;
    Thread.sleep(2000);
    node.gc();
    Thread.sleep(500);
    result.heapBeforeBytes = heapBefore;
    result.heapAfterBytes = node.metric("jvm_heap_used_bytes");
    result.rssBytes = node.rssBytes();
    result.openConnections = node.metric("chat_connections");
    for (BenchSession s : sessions) {
      result.errors += s.errors + s.closedByServer;
    }
    result.wallSeconds = (System.nanoTime() - start) / 1e9;
  }

  private static void storm(BenchOptions options, WebSocketClient client, List<NodeProcess> nodes,
                            BenchResult result) throws Exception {
    List<BenchSession> sessions = sessions(options, new Recorder(3), new Recorder(3));
    connectAll(options, client, nodes, sessions, result);
    Thread.sleep(1000);
    Future.join(sessions.stream().map(BenchSession::drop).toList()).otherwiseEmpty().await();
    CountDownLatch recovered = new CountDownLatch(sessions.size());
    Recorder reconnect = new Recorder(3);
    long start = System.nanoTime();
    sessions.forEach(s -> s.onRecovery = x -> {
      reconnect.recordValue(System.nanoTime() - start);
      recovered.countDown();
    });
    List<Future<Void>> all = new ArrayList<>();
    for (int i = 0; i < sessions.size(); i++) {
      all.add(sessions.get(i).connect(client, nodes.get(i % nodes.size()).httpPort)
          .onFailure(e -> result.connectFailures++));
    }
    recovered.await(options.timeoutSec(), TimeUnit.SECONDS);
    result.stormSeconds = (System.nanoTime() - start) / 1e9;
    result.firstToken = reconnect.getIntervalHistogram();
    result.completed = (int) (sessions.size() - recovered.getCount());
    for (BenchSession s : sessions) {
      result.gaps += s.gaps;
      result.duplicates += s.duplicates;
      result.errors += s.errors + s.closedByServer;
    }
  }

  private static void sampleMemoryWhile(CountDownLatch done, BenchOptions options, List<NodeProcess> nodes,
                                        BenchResult result) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(options.timeoutSec());
    while (!done.await(500, TimeUnit.MILLISECONDS) && System.nanoTime() < deadline) {
      long rss = 0;
      long heap = 0;
      for (NodeProcess node : nodes) {
        rss += node.rssBytes();
        heap += node.metric("jvm_heap_used_bytes");
      }
      result.rssBytes = Math.max(result.rssBytes, rss);
      result.heapAfterBytes = Math.max(result.heapAfterBytes, heap);
    }
  }

  private static long allocated(List<NodeProcess> nodes) throws IOException, InterruptedException {
    long total = 0;
    for (NodeProcess node : nodes) {
      total += node.metric("jvm_allocated_bytes_total");
    }
    return total;
  }

  /** The nodes' CPU; a node with an embedded stack counts its child processes (Redis, PostgreSQL) too. */
  private static long cpu(List<NodeProcess> nodes) throws IOException {
    long total = 0;
    for (NodeProcess node : nodes) {
      total += node.cpuMillisWithChildren();
    }
    return total;
  }

  /** The tool's Redis, or the one a node with an embedded stack runs as its child. */
  private static long redisCpu(EmbeddedRedis redis, List<NodeProcess> nodes) throws IOException {
    return redis != null ? ProcessCpu.millis(redis.pid()) : nodes.get(0).childCpuMillis("redis-server");
  }

  private static String machine() {
    String model = "unknown CPU";
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          model = line.substring(line.indexOf(':') + 1).strip();
          break;
        }
      }
    } catch (IOException ignored) {
      // not Linux
    }
    return String.format(Locale.ROOT, "%d cores, %s, Java %s, bench JVM %s", Runtime.getRuntime().availableProcessors(),
        model, System.getProperty("java.version"), ManagementFactory.getRuntimeMXBean().getVmName());
  }

  static String ms(Histogram histogram, double percentile) {
    return String.format(Locale.ROOT, "%.1f", histogram.getValueAtPercentile(percentile) / 1e6);
  }
}
