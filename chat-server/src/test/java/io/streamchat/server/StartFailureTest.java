package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

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
  void aNodeWhosePortIsTakenExitsWithCode1AndSaysWhichPort() throws Exception {
    int port = NodeProcess.freePort();
    try (ServerSocket taken = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      NodeProcess node = NodeProcess.start("port-taken", Map.of("CHAT_HTTP_PORT", Integer.toString(port),
          "CHAT_REDIS_URL", "redis://127.0.0.1:1", "CHAT_DB_URL", "none", "CHAT_KAFKA_BOOTSTRAP", "none",
          "CHAT_ROLES", "gateway"), List.of("-Xmx128m"));
      try {
        Throwable failure = catchThrowable(() -> node.awaitReady(1, Duration.ofSeconds(60)));
        assertThat(failure).isInstanceOf(IllegalStateException.class);
        assertThat(failure.getMessage().lines().findFirst().orElse(""))
            .as("the failure's first line: the exit code and what the node logged")
            .startsWith("port-taken exited with code 1 (")
            .contains("The node could not start")
            .contains("cannot listen on 127.0.0.1:" + port + ": ")
            .contains("Address already in use");
      } finally {
        node.close();
      }
    }
  }
}
