package io.streamchat.testkit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/** One node of the cluster as its own JVM process, started from the test classpath, that tests kill, stop and pause. */
public final class NodeProcess implements AutoCloseable {

  /** The launcher's main class: a node is started from the caller's classpath. */
  private static final String MAIN = "io.streamchat.server.Main";

  /** HTTP/1.1, as browsers and Prometheus speak to the node (they never upgrade to h2c). */
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2)).build();

  /** Ports reserved after each block: Hazelcast members count up from the block's first port. */
  private static final int SPILL = 16;
  /** What a JVM prints as it dies: an uncaught exception, a crash, an exit on running out of memory. */
  private static final String JVM_DEATH = "^Exception in thread|^# A fatal error|^Terminating due to";
  /** Log lines a failed test reports: warnings and errors of the node's and Hazelcast's loggers, the JVM's death. */
  private static final Pattern NOTABLE = Pattern.compile("^\\S+ (WARN|ERROR) |^(WARNING|SEVERE):|" + JVM_DEATH);
  private static final Pattern DEATH = Pattern.compile(JVM_DEATH);
  /** The thread's name after a log line's time and level. */
  private static final Pattern THREAD = Pattern.compile("^(\\S+ \\S+)\\s+\\[[^\\]]*\\] ");
  /** What Hazelcast puts before each message: the member's address, the cluster's name, its version. */
  private static final Pattern HAZELCAST_PREFIX = Pattern.compile("\\[[0-9.]+\\]:\\d+ \\[[^\\]]+\\] \\[[0-9.]+\\] ");
  /** Ports {@link #freePortBlock} reserved: never returned again by this JVM. */
  private static final Set<Integer> HANDED_OUT = new HashSet<>();

  public final String nodeId;
  public final int httpPort;
  private final Process process;
  public final Path log;

  /** CHAT_DATA_DIR when set: servers the node embeds keep their files there. */
  private final String dataDir;
  /** When the node was last stopped with SIGSTOP and not continued since, else 0. */
  private volatile long pausedAtMillis;

  private NodeProcess(String nodeId, int httpPort, Process process, Path log, String dataDir) {
    this.nodeId = nodeId;
    this.httpPort = httpPort;
    this.process = process;
    this.log = log;
    this.dataDir = dataDir;
  }

  /**
   * Starts a node with these CHAT_* settings and the shipped JVM options, logging to target/nodes; JVM
   * options may be added (after the shipped ones, so they win). It listens on CHAT_HTTP_PORT when that
   * is set, else on a free port.
   */
  public static NodeProcess start(String nodeId, Map<String, String> env, List<String> jvmOptions) throws IOException {
    int port = env.containsKey("CHAT_HTTP_PORT") ? Integer.parseInt(env.get("CHAT_HTTP_PORT")) : freePort();
    Path logs = Path.of("target", "nodes");
    Files.createDirectories(logs);
    Path log = logs.resolve(nodeId + "-" + System.currentTimeMillis() + ".log");
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xshare:auto",
        "--add-modules", "java.se",
        "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
        "--add-opens", "java.base/java.lang=ALL-UNNAMED",
        "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
        "--add-opens", "java.management/sun.management=ALL-UNNAMED",
        "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
        "-cp", System.getProperty("java.class.path")));
    command.addAll(1, jvmOptions);
    command.addAll(1, ShippedJvmOptions.load());
    command.add(MAIN);
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().putAll(env);
    builder.environment().put("CHAT_NODE_ID", nodeId);
    builder.environment().put("CHAT_HTTP_PORT", Integer.toString(port));
    builder.environment().put("CHAT_HTTP_HOST", "127.0.0.1");
    return new NodeProcess(nodeId, port, builder.start(), log, env.get("CHAT_DATA_DIR"));
  }

  /** Waits until the node is ready and sees {@code members} cluster members. */
  public NodeProcess awaitReady(int members, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(nodeId + " exited with code " + process.exitValue() + " (" + whyItFailed()
            + "); see " + log.toAbsolutePath() + ":\n" + tail(80));
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
    threadDump();
    throw new IllegalStateException(nodeId + " not ready with " + members + " members; the end of "
        + log.toAbsolutePath() + ":\n" + tail(80));
  }

  /** The last {@code lines} lines of the node's log. */
  public String tail(int lines) {
    try {
      List<String> all = Files.readAllLines(log);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(log unreadable: " + e + ")";
    }
  }

  /**
   * The log's error and the causes under it, on one line: a test report's summary shows only the first
   * line of a failure, and on a CI machine the report may be all there is to read.
   */
  private String whyItFailed() {
    try {
      List<String> reasons = new ArrayList<>();
      boolean afterError = false;
      for (String line : Files.readAllLines(log)) {
        // The exception an error is logged with stands on the line after it.
        boolean exception = afterError && !line.isEmpty() && Character.isLetter(line.charAt(0));
        afterError = line.contains(" ERROR ") || line.startsWith("SEVERE");
        if (afterError || exception || line.startsWith("Caused by:") || DEATH.matcher(line).find()) {
          reasons.add(line.strip());
        }
      }
      return reasons.isEmpty() ? "no error logged" : String.join(" | ", reasons.subList(Math.max(0, reasons.size() - 6),
          reasons.size()));
    } catch (IOException e) {
      return "log unreadable: " + e;
    }
  }

  /**
   * The node's state and the last {@code lines} warnings and errors of its log, one short line each:
   * what a failed test's message carries, for a report that shows nothing else.
   */
  public String digest(int lines) {
    long pausedAt = pausedAtMillis;
    String state = process.isAlive()
        ? (pausedAt == 0 ? "running" : "paused since " + LocalTime.ofInstant(Instant.ofEpochMilli(pausedAt),
            ZoneId.systemDefault()).truncatedTo(ChronoUnit.MILLIS))
        : "exited with code " + process.exitValue();
    List<String> notable = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(log)) {
        if (NOTABLE.matcher(line).find() && !line.contains("AUTHENTICATION IS OFF")
            && !line.contains("Java modular environment") && !line.contains("Some of the ports seem occupied")) {
          String shortened = HAZELCAST_PREFIX.matcher(THREAD.matcher(line).replaceFirst("$1 ")).replaceFirst("").strip();
          notable.add("  " + (shortened.length() > 170 ? shortened.substring(0, 170) + "…" : shortened));
        }
      }
    } catch (IOException e) {
      notable.add("  log unreadable: " + e);
    }
    return nodeId + " (" + state + ")" + (notable.isEmpty() ? "" : "\n")
        + String.join("\n", notable.subList(Math.max(0, notable.size() - lines), notable.size()));
  }

  /** Appends the node's thread dump to its log (jcmd), to see where it is stuck. */
  private void threadDump() {
    try {
      Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
      new ProcessBuilder(jcmd.toString(), Long.toString(process.pid()), "Thread.print")
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start()
          .waitFor(20, TimeUnit.SECONDS);
    } catch (IOException | InterruptedException e) {
      // diagnostics only
    }
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** kill -9. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }

  /** SIGTERM, then waits for a graceful exit. */
  public boolean terminate(Duration timeout) throws InterruptedException {
    process.destroy();
    return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  public void pause() throws Exception {
    Signals.send(process, "STOP");
    pausedAtMillis = System.currentTimeMillis();
  }

  public void resume() throws Exception {
    Signals.send(process, "CONT");
    pausedAtMillis = 0;
  }

  /** Resident memory of the process, from /proc, in bytes. */
  public long rssBytes() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    return -1;
  }

  /** CPU time used by the process so far (user + system), from /proc, in milliseconds. */
  public long cpuMillis() throws IOException {
    return ProcessCpu.millis(process.pid());
  }

  /**
   * CPU time of the process and of every process it started, in milliseconds: its children (an
   * embedded Redis) and the servers that detached from it but keep their files in its CHAT_DATA_DIR
   * (PostgreSQL's postmaster, which {@code pg_ctl} starts as a daemon, and its backends).
   */
  public long cpuMillisWithChildren() throws IOException {
    long total = cpuMillis();
    for (ProcessHandle child : process.descendants().toList()) {
      total += childMillis(child);
    }
    if (dataDir != null) {
      for (ProcessHandle server : ProcessHandle.allProcesses()
          .filter(other -> other.info().commandLine().orElse("").contains(dataDir))
          .filter(other -> other.parent().map(parent -> parent.pid() != process.pid()).orElse(true)).toList()) {
        total += childMillis(server);
        for (ProcessHandle child : server.descendants().toList()) {
          total += childMillis(child);
        }
      }
    }
    return total;
  }

  /** CPU time of the processes this one started whose command contains {@code name}, in milliseconds. */
  public long childCpuMillis(String name) throws IOException {
    long total = 0;
    for (ProcessHandle child : process.descendants().toList()) {
      if (child.info().command().orElse("").contains(name)) {
        total += childMillis(child);
      }
    }
    return total;
  }

  private static long childMillis(ProcessHandle child) throws IOException {
    try {
      return ProcessCpu.millis(child.pid());
    } catch (NoSuchFileException exited) {
      return 0;
    }
  }

  /** Asks the JVM for a full GC (jcmd), so that heap use after it is what is live. */
  public void gc() throws IOException, InterruptedException {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    new ProcessBuilder(jcmd.toString(), Long.toString(process.pid()), "GC.run").redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(30, TimeUnit.SECONDS);
  }

  /** GET on the node's HTTP port. */
  public String get(String path) throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  /** A metric's value from /metrics. */
  public long metric(String name) throws IOException, InterruptedException {
    return (long) PrometheusText.parse(get("/metrics")).sum(name);
  }

  /**
   * The first of {@code count} consecutive free ports, below the kernel's ephemeral range (32768 and
   * up), where outgoing connections could take them between the check and the bind. Nodes bind
   * their ports seconds after they were chosen, so a block is reserved for this JVM: no later call
   * returns one of its ports, nor one of the {@link #SPILL} ports after it, which a cluster's
   * Hazelcast members take when more of them run than the block has ports (a node's HTTP port there
   * would be taken by a member first, and the node could not start).
   */
  public static synchronized int freePortBlock(int count) {
    Random random = new Random();
    for (int attempt = 0; attempt < 200; attempt++) {
      int first = 10_000 + random.nextInt(20_000);
      boolean free = true;
      for (int port = first; port < first + count && free; port++) {
        if (HANDED_OUT.contains(port)) {
          free = false;
          break;
        }
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
          socket.setReuseAddress(true);
        } catch (IOException taken) {
          free = false;
        }
      }
      if (free) {
        for (int port = first; port < first + count + SPILL; port++) {
          HANDED_OUT.add(port);
        }
        return first;
      }
    }
    throw new IllegalStateException("no block of " + count + " free ports");
  }

  /** A free port, reserved as {@link #freePortBlock} reserves them. */
  public static int freePort() throws IOException {
    return freePortBlock(1);
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
      Signals.send(process, "CONT");
    } catch (Exception ignored) {
      // not stopped
    }
  }
}
