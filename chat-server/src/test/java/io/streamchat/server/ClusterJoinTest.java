package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.hazelcast.core.Hazelcast;
import io.streamchat.testkit.NodeProcess;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class ClusterJoinTest {

  @Test
  void aJoinThatDoesNotFinishInTimeIsTriedAgainAsANewMemberThenTheStartFails() throws Exception {
    int clusterPort = NodeProcess.freePortBlock(1);
    // No join finishes in a millisecond: every try is given up.
    JsonObject settings = new JsonObject().put("CHAT_ROLES", "").put("CHAT_NODE_ID", "slow-joiner")
        .put("CHAT_CLUSTER_MEMBERS", "127.0.0.1:" + clusterPort).put("CHAT_CLUSTER_PORT", clusterPort)
        .put("CHAT_CLUSTER_JOIN_TIMEOUT_MS", 1);
    Logger log = (Logger) LoggerFactory.getLogger(ChatServer.class);
    ListAppender<ILoggingEvent> events = new ListAppender<>();
    events.start();
    log.addAppender(events);
    try {
      assertThatThrownBy(() -> ChatServer.start(settings)).hasMessage("joining the cluster hung 3 times");
    } finally {
      log.detachAppender(events);
    }
    assertThat(events.list).extracting(ILoggingEvent::getFormattedMessage)
        .filteredOn(line -> line.startsWith("Joining the cluster did not finish"))
        .containsExactly(
            "Joining the cluster did not finish within 1 ms (attempt 1 of 3); this node tries again as a new member",
            "Joining the cluster did not finish within 1 ms (attempt 2 of 3); this node tries again as a new member");
    assertThat(Hazelcast.getHazelcastInstanceByName("slow-joiner")).as("no member left behind").isNull();
  }
}
