package io.streamchat.server;

import io.streamchat.protocol.ConfigSource;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts one node from environment variables and {@code -D} properties; SIGTERM stops it
 * gracefully. {@code replay …} instead rebuilds PostgreSQL and Redis from the audit log.
 */
public final class Main {

  private static final Logger LOG = LoggerFactory.getLogger(Main.class);

  private Main() {
  }

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && "replay".equals(args[0])) {
      System.exit(replay(java.util.Arrays.copyOfRange(args, 1, args.length)));
    }
    if (args.length > 0) {
      System.err.println("unknown command " + args[0] + "; with no argument the node starts. " + Replay.USAGE);
      System.exit(2);
    }
    String logFormat = ConfigSource.of(new JsonObject()).string("CHAT_LOG_FORMAT", "text");
    if (!logFormat.equals("text") && !logFormat.equals("json")) {
      System.err.println("CHAT_LOG_FORMAT is " + logFormat + "; it must be text or json");
      System.exit(2);
    }
    ChatServer server;
    try {
      server = ChatServer.start(new JsonObject());
    } catch (Exception e) {
      // Exits even when a thread of what failed to start is still alive.
      LOG.error("The node could not start", e);
      System.exit(1);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      LOG.info("Shutting down node {}", server.nodeId());
      server.stop();
    }, "shutdown"));
    String port = System.getProperty("CHAT_HTTP_PORT", System.getenv().getOrDefault("CHAT_HTTP_PORT", "8080"));
    LOG.info("Chat is up: open http://localhost:{}/", port);
  }

  private static int replay(String[] args) {
    Replay.Options options;
    try {
      options = Replay.Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println(Replay.USAGE);
      return 2;
    }
    try {
      new Replay(ConfigSource.of(new JsonObject()), System.out).run(options);
      return 0;
    } catch (Exception e) {
      LOG.error("Replay failed: {}", e.toString());
      return 1;
    }
  }
}
