package io.streamchat.server;

import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Starts one node from environment variables and {@code -D} properties; SIGTERM stops it gracefully. */
public final class Main {

  private static final Logger LOG = LoggerFactory.getLogger(Main.class);

  private Main() {
  }

  public static void main(String[] args) throws Exception {
    ChatServer server = ChatServer.start(new JsonObject());
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      LOG.info("Shutting down node {}", server.nodeId());
      server.stop();
    }, "shutdown"));
    String port = System.getProperty("CHAT_HTTP_PORT", System.getenv().getOrDefault("CHAT_HTTP_PORT", "8080"));
    LOG.info("Chat is up: open http://localhost:{}/", port);
  }
}
