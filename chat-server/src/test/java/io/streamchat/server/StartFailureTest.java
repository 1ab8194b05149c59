package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamchat.testkit.NodeProcess;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A node that cannot start exits (whatever threads it started) and says why. */
class StartFailureTest {

  @Test
  void aNodeWhosePortIsTakenExitsWithCode1AndTheReasonInItsLog() throws Exception {
    int port = NodeProcess.freePort();
    try (ServerSocket taken = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      NodeProcess node = NodeProcess.start("port-taken", Map.of("CHAT_HTTP_PORT", Integer.toString(port),
          "CHAT_REDIS_URL", "redis://127.0.0.1:1", "CHAT_DB_URL", "none", "CHAT_KAFKA_BOOTSTRAP", "none",
          "CHAT_ROLES", "gateway"), List.of("-Xmx128m"));
      try {
        assertThatThrownBy(() -> node.awaitReady(1, Duration.ofSeconds(60)))
            .as("the failure's first line says what the node logged")
            .hasMessageStartingWith("port-taken exited with code 1 (")
            .hasMessageContaining("The node could not start")
            .hasMessageContaining("cannot listen on 127.0.0.1:" + port + ": bind(..) failed with error(-98): Address already in use");
        assertThat(node.isAlive()).isFalse();
      } finally {
        node.close();
      }
    }
  }
}
