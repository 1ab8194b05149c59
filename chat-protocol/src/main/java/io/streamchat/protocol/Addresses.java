package io.streamchat.protocol;

/** Every event-bus address of the system. No other class spells an address. */
public final class Addresses {

  /** Every event of every session, with {@code session_id} and {@code user_id}, for internal consumers. */
  public static final String EVENTS = "chat.events";
  /** Request/reply API for other services: send, cancel, history, recover. */
  public static final String API = "chat.api";
  /** Asks a session verticle (the nearest, see {@link Nearest}) to claim and activate a session that has no owner yet. */
  public static final String SESSION_ACTIVATE = "chat.session.activate";
  /** Any AI bridge (the nearest, see {@link Nearest}): starts a generation. */
  public static final String AI_GENERATE = "chat.ai.generate";
  /** This node's view of the cluster lost a member; the body is its cluster node id. Published locally. */
  public static final String MEMBER_LEFT = "chat.cluster.member-left";
  /**
   * The cluster-wide map of session leases (session id to the holding verticle). With
   * CHAT_CLUSTER_QUORUM it is written only where that many members see each other.
   */
  public static final String SESSION_LEASES = "chat.session.owners";
  /** Any durable-tier verticle (the nearest, see {@link Nearest}): conversations in PostgreSQL. */
  public static final String DURABLE = "chat.durable";
  /** This node's audit verticle (local only): writes events to the Kafka audit log. */
  public static final String AUDIT = "chat.audit";
  /** Any cache verticle (the nearest, see {@link Nearest}): Redis storage of the session logs. */
  public static final String CACHE = "chat.cache";

  private static final String SESSION_PREFIX = "chat.session.";

  private Addresses() {
  }

  /** The address of the single owner of a session. */
  public static String session(String sessionId) {
    return SESSION_PREFIX + sessionId;
  }

  /** The address of one gateway verticle instance; connection frames are delivered there. */
  public static String gateway(String nodeId, String instanceId) {
    return "chat.gateway." + nodeId + "." + instanceId;
  }

  private static final String BRIDGE_PREFIX = "chat.ai.bridge.";

  /** The address of one AI bridge instance; cancels and storage progress for its generations go there. */
  public static String aiBridge(String clusterNodeId, String instanceId) {
    return BRIDGE_PREFIX + clusterNodeId + "." + instanceId;
  }

  /** The cluster node id of the bridge at {@code address} (made by {@link #aiBridge}), or null. */
  public static String nodeOfBridge(String address) {
    if (address == null || !address.startsWith(BRIDGE_PREFIX)) {
      return null;
    }
    int end = address.lastIndexOf('.');
    return end <= BRIDGE_PREFIX.length() ? null : address.substring(BRIDGE_PREFIX.length(), end);
  }


}
