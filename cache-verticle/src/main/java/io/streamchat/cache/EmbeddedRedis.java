package io.streamchat.cache;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ServerSocket;
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
 * A real redis-server process on a free loopback port, for laptops and tests. It runs the binary
 * shipped in the embedded-redis artifact, or {@code redis-server} from the PATH when the artifact
 * has none for this platform. Persistence is off: this is a cache for one run.
 */
public final class EmbeddedRedis implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedRedis.class);
  private static final String BUNDLED_LINUX_X64 = "/redis-server-6.2.6-v5-linux-amd64";

  private final Process process;
  private final int port;

  private EmbeddedRedis(Process process, int port) {
    this.process = process;
    this.port = port;
  }

  /** Starts redis-server and returns once it accepts connections. Blocking: call it off the event loop. */
  public static EmbeddedRedis start() throws IOException {
    int port = freePort();
    List<String> command = new ArrayList<>(List.of(binary().toString(),
        "--port", Integer.toString(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--protected-mode", "no"));
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
    EmbeddedRedis redis = new EmbeddedRedis(process, port);
    Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly));
    LOG.info("Embedded Redis {} listening on 127.0.0.1:{}", process.pid(), port);
    return redis;
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

  private static Path binary() throws IOException {
    boolean linuxX64 = System.getProperty("os.name").toLowerCase().contains("linux")
        && List.of("amd64", "x86_64").contains(System.getProperty("os.arch"));
    InputStream bundled = linuxX64 ? EmbeddedRedis.class.getResourceAsStream(BUNDLED_LINUX_X64) : null;
    if (bundled == null) {
      return Path.of("redis-server");
    }
    Path dir = Files.createTempDirectory("embedded-redis");
    Path binary = dir.resolve("redis-server");
    try (bundled) {
      Files.copy(bundled, binary, StandardCopyOption.REPLACE_EXISTING);
    }
    Files.setPosixFilePermissions(binary, PosixFilePermissions.fromString("rwx------"));
    binary.toFile().deleteOnExit();
    dir.toFile().deleteOnExit();
    return binary;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
