package io.streamchat.cache;

import io.streamchat.protocol.LocalServers;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real redis-server process on loopback, for laptops and tests. It runs the binary shipped in the
 * embedded-redis artifact, or {@code redis-server} from the PATH when the artifact has none for this
 * platform. {@link #start()} is a throwaway cache on a free port (tests); {@link #persistent} keeps
 * its data in a directory (append-only file) on a stable port, so that a laptop's conversations
 * survive a restart.
 */
public final class EmbeddedRedis implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedRedis.class);
  private static final String BUNDLED_LINUX_X64 = "/redis-server-6.2.6-v5-linux-amd64";
  private static final String BINARY = "redis-server";

  private final Process process;
  private final int port;

  private EmbeddedRedis(Process process, int port) {
    this.process = process;
    this.port = port;
  }

  /**
   * A throwaway Redis on a free port, without persistence, killed when this JVM exits. Blocking:
   * call it off the event loop.
   */
  public static EmbeddedRedis start() throws IOException {
    int port = LocalServers.freePort();
    Path dir = Files.createTempDirectory("embedded-redis");
    try {
      EmbeddedRedis redis = launch(install(dir), List.of("--port", Integer.toString(port), "--save", "",
          "--appendonly", "no"), port);
      Runtime.getRuntime().addShutdownHook(new Thread(redis.process::destroyForcibly));
      return redis;
    } finally {
      // A running binary needs no file: nothing is left behind, however this JVM ends.
      Files.deleteIfExists(dir.resolve(BINARY));
      Files.deleteIfExists(dir);
    }
  }

  /**
   * A Redis that keeps its data in {@code dir} (append-only file, fsync every second) on
   * {@code preferredPort}, or on a free port when that one is taken. A server left running by a
   * previous run that was killed is stopped first (it would write the same files). The caller
   * closes it, after its last write: close stops it with SIGTERM, which flushes the file.
   */
  public static EmbeddedRedis persistent(Path dir, int preferredPort) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    Path pidFile = dir.resolve("redis.pid");
    stopLeftover(pidFile);
    int port = LocalServers.preferredOrFree(preferredPort);
    if (port != preferredPort) {
      LOG.warn("Port {} is taken; the embedded Redis listens on {}", preferredPort, port);
    }
    return launch(install(dir), List.of("--port", Integer.toString(port), "--dir", dir.toAbsolutePath().toString(),
        "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--pidfile", pidFile.toAbsolutePath().toString()),
        port);
  }

  private static EmbeddedRedis launch(Path binary, List<String> options, int port) throws IOException {
    List<String> command = new ArrayList<>(List.of(binary.toString(), "--bind", "127.0.0.1", "--protected-mode", "no"));
    command.addAll(options);
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    CompletableFuture<Void> ready = new CompletableFuture<>();
    Thread reader = new Thread(() -> pump(process.getInputStream(), ready), "embedded-redis-" + port);
    reader.setDaemon(true);
    reader.start();
    try {
      ready.get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      process.destroyForcibly();
      throw new IOException("redis-server did not start on port " + port, e);
    }
    LOG.info("Embedded Redis {} listening on 127.0.0.1:{}", process.pid(), port);
    return new EmbeddedRedis(process, port);
  }

  private static void stopLeftover(Path pidFile) throws IOException, InterruptedException {
    if (!Files.exists(pidFile)) {
      return;
    }
    long pid;
    try {
      pid = Long.parseLong(Files.readString(pidFile).strip());
    } catch (NumberFormatException e) {
      return;
    }
    ProcessHandle leftover = ProcessHandle.of(pid)
        .filter(p -> p.info().command().map(c -> c.endsWith(BINARY)).orElse(false))
        .orElse(null);
    if (leftover != null) {
      LOG.warn("Stopping redis-server {} left running by an earlier run", pid);
      leftover.destroy();
      leftover.onExit().toCompletableFuture().orTimeout(10, TimeUnit.SECONDS).exceptionally(e -> {
        leftover.destroyForcibly();
        return null;
      }).join();
    }
  }

  public int port() {
    return port;
  }

  public long pid() {
    return process.pid();
  }

  public String url() {
    return "redis://127.0.0.1:" + port;
  }

  /** Stops the process (SIGSTOP): Redis hangs, as a stuck server would. */
  public void pause() throws IOException, InterruptedException {
    signal("STOP");
  }

  /** Continues a paused process (SIGCONT). */
  public void resume() throws IOException, InterruptedException {
    signal("CONT");
  }

  private void signal(String name) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
    if (kill.waitFor() != 0) {
      throw new IOException("kill -" + name + " " + process.pid() + " failed");
    }
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(Duration.ofSeconds(5).toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }

  private static void pump(InputStream output, CompletableFuture<Void> ready) {
    try (BufferedReader lines = new BufferedReader(new InputStreamReader(output, StandardCharsets.UTF_8))) {
      String line;
      while ((line = lines.readLine()) != null) {
        if (line.contains("Ready to accept connections")) {
          ready.complete(null);
        } else if (!ready.isDone() && line.contains("# ")) {
          LOG.debug("redis-server: {}", line);
        }
      }
      ready.completeExceptionally(new IOException("redis-server exited"));
    } catch (IOException e) {
      ready.completeExceptionally(e);
    }
  }

  /** The bundled binary, written into {@code dir}; {@code redis-server} from the PATH when none is bundled. */
  private static Path install(Path dir) throws IOException {
    boolean linuxX64 = System.getProperty("os.name").toLowerCase().contains("linux")
        && List.of("amd64", "x86_64").contains(System.getProperty("os.arch"));
    InputStream bundled = linuxX64 ? EmbeddedRedis.class.getResourceAsStream(BUNDLED_LINUX_X64) : null;
    if (bundled == null) {
      return Path.of(BINARY);
    }
    Path binary = dir.resolve(BINARY);
    try (bundled) {
      Files.copy(bundled, binary, StandardCopyOption.REPLACE_EXISTING);
    }
    Files.setPosixFilePermissions(binary, PosixFilePermissions.fromString("rwx------"));
    return binary;
  }
}
