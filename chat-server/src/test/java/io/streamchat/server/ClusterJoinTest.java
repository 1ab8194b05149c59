package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamchat.testkit.NodeProcess;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

class ClusterJoinTest {

  @Test
  void aJoinThatDoesNotFinishInTimeIsTriedAgainAsANewMemberThenTheStartFails() throws Exception {
    int clusterPort = NodeProcess.freePortBlock(1);
    // No join finishes in a millisecond: every try is given up.
    JsonObject settings = new JsonObject().put("CHAT_ROLES", "").put("CHAT_NODE_ID", "slow-joiner")
        .put("CHAT_CLUSTER_MEMBERS", "127.0.0.1:" + clusterPort).put("CHAT_CLUSTER_PORT", clusterPort)
        .put("CHAT_CLUSTER_JOIN_TIMEOUT_MS", 1);
    assertThatThrownBy(() -> ChatServer.start(settings))
        .hasMessage("joining the cluster hung 3 times");
  }
}
