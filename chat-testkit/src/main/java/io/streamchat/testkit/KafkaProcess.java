package io.streamchat.testkit;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The embedded single-node Kafka as its own process, so that a test can pause it (SIGSTOP), stop it
 * and start it again on the same port with the same data.
 */
public final class KafkaProcess implements AutoCloseable {

  private static final String MAIN = "io.streamchat.audit.EmbeddedKafka";

  private final Path dir;
  private final int port;
  private final Path log;
  private Process process;

  private KafkaProcess(Path dir, int port) throws IOException {
    this.dir = dir;
    this.port = port;
    Path logs = Path.of("target", "nodes");
    Files.createDirectories(logs);
    this.log = logs.resolve("kafka-" + System.currentTimeMillis() + ".log");
  }

  /** A broker with its data in a new temporary directory, on a free port; ready when this returns. */
  public static KafkaProcess start() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    KafkaProcess kafka = new KafkaProcess(Files.createTempDirectory("kafka-process"), port);
    kafka.startAgain();
    return kafka;
  }

  public String bootstrap() {
    return "127.0.0.1:" + port;
  }

  /** Starts the broker (again) on its port with its data; waits until it takes requests. */
  public void startAgain() throws Exception {
    List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx512m", "-cp", System.getProperty("java.class.path"), MAIN, dir.toString(), Integer.toString(port));
    process = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (!Files.readString(log).contains("KAFKA READY " + bootstrap())) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        throw new IllegalStateException("Kafka did not start; see " + log.toAbsolutePath());
      }
      Thread.sleep(100);
    }
  }

  /** SIGTERM, and waits until it is gone. */
  public void stop() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  public void pause() throws Exception {
    Signals.send(process, "STOP");
  }

  public void resume() throws Exception {
    Signals.send(process, "CONT");
  }

  @Override
  public void close() throws Exception {
    if (process != null && process.isAlive()) {
      resume();
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    }
  }
}
