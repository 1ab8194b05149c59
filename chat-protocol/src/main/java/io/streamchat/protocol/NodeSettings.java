package io.streamchat.protocol;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Settings every verticle of a node shares.
 *
 * @param nodeId            CHAT_NODE_ID: this node's name in logs, metrics, health and addresses
 * @param roles             CHAT_ROLES (gateway,session,cache,ai-bridge): the verticles this node runs
 * @param maxAnswersPerNode CHAT_AI_MAX_ACTIVE_PER_NODE (5000): answers the sessions owned by this node stream at
 *                          once; a new message beyond it is refused {@code rate_limited} before anything is appended.
 *                          Also the default size of the provider connection pool (an HTTP/1.1 stream holds one).
 * @param maxAnswersPerUser CHAT_AI_MAX_ACTIVE_PER_USER (4): answers of one user streaming at once on this node
 * @param maxAnswersPerUserMinute CHAT_LIMIT_MESSAGES_PER_MINUTE (120): new answers one user may start per minute,
 *                          cluster-wide (0: off); counted by the session's owner, so that a repeat or a refusal
 *                          costs nothing
 * @param requestTimeoutMs  CHAT_REQUEST_TIMEOUT_MS (5000): every event-bus request
 */
public record NodeSettings(String nodeId, Set<String> roles, int maxAnswersPerNode, int maxAnswersPerUser,
                           int maxAnswersPerUserMinute, long requestTimeoutMs) {

  public static final List<String> ALL_ROLES = List.of("gateway", "session", "cache", "ai-bridge");

  public static NodeSettings from(ConfigSource config) {
    Set<String> roles = new LinkedHashSet<>();
    for (String role : config.string("CHAT_ROLES", String.join(",", ALL_ROLES)).split(",")) {
      String name = role.strip();
      if (name.isEmpty()) {
        continue;
      }
      if (!ALL_ROLES.contains(name)) {
        throw new IllegalArgumentException("CHAT_ROLES: unknown role '" + name + "'; known: " + ALL_ROLES);
      }
      roles.add(name);
    }
    return new NodeSettings(
        config.string("CHAT_NODE_ID", "local"),
        Set.copyOf(roles),
        positive(config, "CHAT_AI_MAX_ACTIVE_PER_NODE", 5000),
        positive(config, "CHAT_AI_MAX_ACTIVE_PER_USER", 4),
        Math.max(0, config.integer("CHAT_LIMIT_MESSAGES_PER_MINUTE", 120)),
        positive(config, "CHAT_REQUEST_TIMEOUT_MS", 5000));
  }

  public boolean runs(String role) {
    return roles.contains(role);
  }

  private static int positive(ConfigSource config, String name, int defaultValue) {
    int value = config.integer(name, defaultValue);
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be positive, got " + value);
    }
    return value;
  }
}
