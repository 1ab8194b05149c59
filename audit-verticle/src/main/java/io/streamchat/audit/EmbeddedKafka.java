package io.streamchat.audit;

import io.streamchat.protocol.LocalServers;
import java.io.IOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka (KRaft: broker and controller in one, no ZooKeeper) on loopback, for
 * laptops and tests. {@link #start()} is a throwaway broker on free ports; {@link #persistent}
 * keeps its data in a directory on a stable port. {@link #main} runs one as its own process
 * (tests stop and pause it).
 */
public final class EmbeddedKafka implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);

  private final KafkaRaftServer server;
  private final int port;
  private final Path throwawayDir;

  private EmbeddedKafka(KafkaRaftServer server, int port, Path throwawayDir) {
    this.server = server;
    this.port = port;
    this.throwawayDir = throwawayDir;
  }

  /** A throwaway broker on free ports, deleted on close. Blocking (~3 s): call it off the event loop. */
  public static EmbeddedKafka start() throws IOException {
    Path dir = Files.createTempDirectory("embedded-kafka");
    return start(dir, LocalServers.freePort(), dir);
  }

  /** A broker that keeps its data in {@code dir}, on {@code preferredPort} or a free port when that one is taken. */
  public static EmbeddedKafka persistent(Path dir, int preferredPort) throws IOException {
    Files.createDirectories(dir);
    int port = LocalServers.preferredOrFree(preferredPort);
    if (port != preferredPort) {
      LOG.warn("Port {} is taken; the embedded Kafka listens on {}", preferredPort, port);
    }
    EmbeddedKafka kafka = start(dir, port, null);
    LOG.info("Embedded Kafka listening on 127.0.0.1:{} with its data in {}", port, dir.resolve("data"));
    return kafka;
  }

  private static EmbeddedKafka start(Path dir, int port, Path throwawayDir) throws IOException {
    Path data = dir.resolve("data");
    Files.createDirectories(data);
    int controllerPort = LocalServers.freePort();
    Properties props = new Properties();
    props.put("process.roles", "broker,controller");
    props.put("node.id", "1");
    props.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
    props.put("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
    props.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
    props.put("controller.listener.names", "CONTROLLER");
    props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    props.put("inter.broker.listener.name", "PLAINTEXT");
    props.put("log.dirs", data.toString());
    props.put("num.partitions", "12");
    props.put("offsets.topic.replication.factor", "1");
    props.put("offsets.topic.num.partitions", "4");
    props.put("transaction.state.log.replication.factor", "1");
    props.put("transaction.state.log.min.isr", "1");
    props.put("group.initial.rebalance.delay.ms", "0");
    props.put("log.flush.interval.messages", "1");
    // The log cleaner compacts only the consumer offsets of outside readers here (the audit topic
    // is never compacted), and its dedupe map lives on the node's heap: 16 MB, not the default 128 MB.
    props.put("log.cleaner.dedupe.buffer.size", Integer.toString(16 << 20));
    // A record may hold a whole long answer (the producer allows as much).
    props.put("message.max.bytes", Integer.toString(64 << 20));
    Path config = dir.resolve("server.properties");
    try (Writer out = Files.newBufferedWriter(config)) {
      props.store(out, "embedded single-node Kafka");
    }
    if (!Files.exists(data.resolve("meta.properties"))) {
      int formatted = StorageTool.execute(new String[] {"format", "-t", Uuid.randomUuid().toString(), "-c",
          config.toString(), "--ignore-formatted"});
      if (formatted != 0) {
        throw new IOException("formatting the Kafka storage in " + data + " failed (" + formatted + ")");
      }
    }
    KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
    server.startup();
    EmbeddedKafka kafka = new EmbeddedKafka(server, port, throwawayDir);
    kafka.awaitReady();
    return kafka;
  }

  private void awaitReady() throws IOException {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
    long deadline = System.currentTimeMillis() + 60_000;
    try (Admin admin = Admin.create(props)) {
      while (true) {
        try {
          if (!admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).isEmpty()) {
            return;
          }
        } catch (Exception notYet) {
          if (System.currentTimeMillis() > deadline) {
            throw new IOException("the embedded Kafka did not come up: " + notYet, notYet);
          }
        }
        Thread.sleep(100);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  /** {@code 127.0.0.1:<port>}, for CHAT_KAFKA_BOOTSTRAP. */
  public String bootstrap() {
    return "127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  @Override
  public void close() {
    server.shutdown();
    server.awaitShutdown();
    if (throwawayDir != null) {
      LocalServers.deleteTree(throwawayDir);
    }
  }

  /**
   * Runs a broker as its own process: {@code EmbeddedKafka <dir> <port>}. It prints
   * {@code KAFKA READY <bootstrap>} once it takes requests, and runs until it is stopped.
   */
  public static void main(String[] args) throws Exception {
    EmbeddedKafka kafka = persistent(Path.of(args[0]), Integer.parseInt(args[1]));
    Runtime.getRuntime().addShutdownHook(new Thread(kafka::close));
    System.out.println("KAFKA READY " + kafka.bootstrap());
    System.out.flush();
    Thread.currentThread().join();
  }
}
