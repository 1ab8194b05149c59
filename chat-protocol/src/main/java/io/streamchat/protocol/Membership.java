package io.streamchat.protocol;

import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.spi.cluster.ClusterManager;

/** This node's view of the cluster: its own node id and whether another node is still a member. */
public final class Membership {

  private static final String LOCAL = "local";

  private Membership() {
  }

  /** The cluster node id of this Vert.x instance; "local" when not clustered. */
  public static String nodeId(Vertx vertx) {
    ClusterManager manager = ((VertxInternal) vertx).clusterManager();
    return manager == null ? LOCAL : manager.getNodeId();
  }

  /** Whether a node is a member now (always true when not clustered: this is the only node). */
  public static boolean isMember(Vertx vertx, String nodeId) {
    ClusterManager manager = ((VertxInternal) vertx).clusterManager();
    return manager == null || manager.getNodes().contains(nodeId);
  }

  /** Whether this Vert.x instance is part of a cluster (it may be alone in it for now). */
  public static boolean isClustered(Vertx vertx) {
    return ((VertxInternal) vertx).clusterManager() != null;
  }

  public static int size(Vertx vertx) {
    ClusterManager manager = ((VertxInternal) vertx).clusterManager();
    return manager == null ? 1 : manager.getNodes().size();
  }
}
