package io.streamchat.server;

import io.streamchat.testkit.ChatFollower;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Clients of the cluster tests: one asks a question after another while {@code running}, and
 * whenever its socket closes it connects again (with its cursor, wherever {@link Connector} leads)
 * and sends the unanswered question again with the same {@code client_message_id}, which the
 * server appends once. Error frames are collected.
 */
final class BackToBackClient {

  interface Connector {
    TestSocket connect() throws InterruptedException;
  }

  private BackToBackClient() {
  }

  /** Nodes on loopback that form one cluster: six Hazelcast ports from {@code clusterPort}, one Redis, one AI. */
  static Map<String, String> clusterSettings(int clusterPort, String redisUrl, String aiBaseUrl) {
    StringBuilder members = new StringBuilder();
    for (int i = 0; i < 6; i++) {
      members.append(i == 0 ? "" : ",").append("127.0.0.1:").append(clusterPort + i);
    }
    return Map.of(
        "CHAT_CLUSTER_MEMBERS", members.toString(),
        "CHAT_CLUSTER_PORT", Integer.toString(clusterPort),
        "CHAT_REDIS_URL", redisUrl,
        "CHAT_DB_URL", "none",
        "CHAT_KAFKA_BOOTSTRAP", "none",
        "CHAT_AI_PROVIDER", "openai",
        "CHAT_AI_BASE_URL", aiBaseUrl,
        "CHAT_REQUEST_TIMEOUT_MS", "2000",
        "CHAT_CONNECTION_KEEPALIVE_MS", "1000");
  }

  /** Asks until {@code running} turns false and its last question is answered; returns how many it asked. */
  static int ask(Connector connector, String session, ChatFollower follower, AtomicBoolean running,
                 List<String> errors) throws Exception {
    TestSocket socket = connector.connect();
    int asked = 0;
    try {
      while (running.get()) {
        JsonObject question = new JsonObject().put("type", "message").put("content", "question " + asked)
            .put("client_message_id", "q-" + asked);
        asked++;
        boolean sent = trySend(socket, question);
        while (completedAnswers(follower) < asked) {
          JsonObject frame = socket.poll(Duration.ofMillis(200));
          if (frame != null && "error".equals(frame.getString("type"))) {
            errors.add(session + ": " + frame.encode());
          }
          if (frame == null && (socket.isClosed() || !sent)) {
            socket.close();
            socket = connector.connect();
            sent = trySend(socket, question);
          }
        }
      }
    } finally {
      socket.close();
    }
    return asked;
  }

  private static boolean trySend(TestSocket socket, JsonObject frame) {
    try {
      socket.send(frame);
      return true;
    } catch (RuntimeException closed) {
      return false;
    }
  }

  /** Assistant messages of the session that have ended. */
  static long completedAnswers(ChatFollower follower) {
    return follower.messages().values().stream()
        .filter(m -> m.role.equals("assistant") && !"streaming".equals(m.status)).count();
  }
}
