package io.streamchat.server;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** One node of the cluster as its own JVM process, started from the test classpath, that tests kill, stop and pause. */
final class NodeProcess implements AutoCloseable {

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  final String nodeId;
  final int httpPort;
  private final Process process;
  final Path log;

  private NodeProcess(String nodeId, int httpPort, Process process, Path log) {
    this.nodeId = nodeId;
    this.httpPort = httpPort;
    this.process = process;
    this.log = log;
  }

  static NodeProcess start(String nodeId, Map<String, String> env) throws IOException {
    int port = TestNode.freePort();
    Path logs = Path.of("target", "nodes");
    Files.createDirectories(logs);
    Path log = logs.resolve(nodeId + "-" + System.currentTimeMillis() + ".log");
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
        "--add-modules", "java.se",
        "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
        "--add-opens", "java.base/java.lang=ALL-UNNAMED",
        "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
        "--add-opens", "java.management/sun.management=ALL-UNNAMED",
        "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
        "-cp", System.getProperty("java.class.path"),
        Main.class.getName()));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().putAll(env);
    builder.environment().put("CHAT_NODE_ID", nodeId);
    builder.environment().put("CHAT_HTTP_PORT", Integer.toString(port));
    builder.environment().put("CHAT_HTTP_HOST", "127.0.0.1");
    return new NodeProcess(nodeId, port, builder.start(), log);
  }

  /** Waits until the node is ready and sees {@code members} cluster members. */
  NodeProcess awaitReady(int members, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(nodeId + " exited; see " + log.toAbsolutePath());
      }
      try {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + httpPort + "/health/ready")).timeout(Duration.ofSeconds(2)).build(),
            HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 200 && response.body().contains("\"cluster_members\":" + members)) {
          return this;
        }
      } catch (IOException notYet) {
        // starting
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException(nodeId + " not ready with " + members + " members; see " + log.toAbsolutePath());
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** kill -9. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }

  /** SIGTERM, then waits for a graceful exit. */
  boolean terminate(Duration timeout) throws InterruptedException {
    process.destroy();
    return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  void pause() throws Exception {
    signal("STOP");
  }

  void resume() throws Exception {
    signal("CONT");
  }

  private void signal(String name) throws Exception {
    if (new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start().waitFor() != 0) {
      throw new IllegalStateException("kill -" + name + " failed");
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      resume0();
      kill();
    }
  }

  private void resume0() {
    try {
      signal("CONT");
    } catch (Exception ignored) {
      // not stopped
    }
  }
}
