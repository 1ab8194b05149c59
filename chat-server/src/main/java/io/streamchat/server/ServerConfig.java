package io.streamchat.server;

import io.streamchat.protocol.ConfigSource;
import io.streamchat.protocol.NodeSettings;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.UUID;

/**
 * Settings of the launcher.
 *
 * @param nodeId          CHAT_NODE_ID (generated): this node's name in logs, metrics and health
 * @param roles           CHAT_ROLES (gateway,session,cache,ai-bridge): the verticles this node runs
 * @param redisUrl        CHAT_REDIS_URL (unset: an embedded Redis is started)
 * @param clusterMembers  CHAT_CLUSTER_MEMBERS (unset: not clustered): comma list of host[:port]
 * @param clusterKubernetesService CHAT_CLUSTER_KUBERNETES_SERVICE (unset): DNS name of a headless Kubernetes
 *                        service selecting the chat pods; set, the members are found through it (clustered)
 * @param clusterHost     CHAT_CLUSTER_HOST (127.0.0.1): address bound for Hazelcast and the event bus
 * @param clusterPort     CHAT_CLUSTER_PORT (5701): first Hazelcast port tried (the next free one is taken)
 * @param clusterConfig   CHAT_CLUSTER_CONFIG (cluster.xml): Hazelcast configuration file
 * @param clusterJoinTimeoutMs CHAT_CLUSTER_JOIN_TIMEOUT_MS (30000): how long Vert.x may take to join the cluster once
 *                        the node's Hazelcast member has started; then the member is stopped and the node tries
 *                        again as a new one (three tries in all)
 * @param clusterQuorum   CHAT_CLUSTER_QUORUM (1: none): members that must see each other for a session to be
 *                        claimed; a majority of the cluster's size (2 of 3) keeps a minority side of a split from claiming
 * @param dataDir         CHAT_DATA_DIR (./data): where the embedded Redis and PostgreSQL keep their files
 * @param embeddedRedisPort CHAT_EMBEDDED_REDIS_PORT (6390): port of the embedded Redis (a free one when taken)
 * @param dbUrl           CHAT_DB_URL (unset: an embedded PostgreSQL is started; {@code none}: no durable tier)
 * @param embeddedDbPort  CHAT_EMBEDDED_DB_PORT (5433): port of the embedded PostgreSQL (a free one when taken)
 * @param kafkaBootstrap  CHAT_KAFKA_BOOTSTRAP (unset: an embedded Kafka is started; {@code none}: no audit log)
 * @param embeddedKafkaPort CHAT_EMBEDDED_KAFKA_PORT (9092): port of the embedded Kafka (a free one when taken)
 * @param eventLoops      CHAT_EVENT_LOOPS (1 per core): event-loop threads; each runs one instance of every verticle
 *                        of the node (a lane), so that a session's hot path stays on one thread
 */
record ServerConfig(String nodeId, Set<String> roles, String redisUrl, String clusterMembers,
                    String clusterKubernetesService, String clusterHost,
                    int clusterPort, String clusterConfig, long clusterJoinTimeoutMs, int clusterQuorum, Path dataDir, int embeddedRedisPort, String dbUrl,
                    int embeddedDbPort, String kafkaBootstrap, int embeddedKafkaPort, int eventLoops,
                    ConfigSource source) {

  static ServerConfig from(ConfigSource config) {
    Set<String> roles = new LinkedHashSet<>(NodeSettings.ALL_ROLES);
    roles.retainAll(NodeSettings.from(config).roles());
    return new ServerConfig(
        config.string("CHAT_NODE_ID", "node-" + UUID.randomUUID().toString().substring(0, 8)),
        roles,
        config.string("CHAT_REDIS_URL", null),
        config.string("CHAT_CLUSTER_MEMBERS", null),
        config.string("CHAT_CLUSTER_KUBERNETES_SERVICE", null),
        config.string("CHAT_CLUSTER_HOST", "127.0.0.1"),
        config.integer("CHAT_CLUSTER_PORT", 5701),
        config.string("CHAT_CLUSTER_CONFIG", "cluster.xml"),
        Math.max(1, config.integer("CHAT_CLUSTER_JOIN_TIMEOUT_MS", 30_000)),
        config.integer("CHAT_CLUSTER_QUORUM", 1),
        Path.of(config.string("CHAT_DATA_DIR", "data")),
        config.integer("CHAT_EMBEDDED_REDIS_PORT", 6390),
        config.string("CHAT_DB_URL", null),
        config.integer("CHAT_EMBEDDED_DB_PORT", 5433),
        config.string("CHAT_KAFKA_BOOTSTRAP", null),
        config.integer("CHAT_EMBEDDED_KAFKA_PORT", 9092),
        config.integer("CHAT_EVENT_LOOPS", Runtime.getRuntime().availableProcessors()),
        config);
  }

  /** Whether this node runs the durable tier (with its storage role, when a database is configured or embedded). */
  boolean durable() {
    return roles.contains("cache") && !"none".equalsIgnoreCase(dbUrl == null ? "" : dbUrl.strip());
  }

  /** Whether an embedded Kafka is started here: none configured, and this node has the storage role. */
  boolean embedsKafka() {
    return kafkaBootstrap == null && roles.contains("cache");
  }

  boolean clustered() {
    return clusterMembers != null && !clusterMembers.isBlank() || discoversOnKubernetes();
  }

  boolean discoversOnKubernetes() {
    return clusterKubernetesService != null && !clusterKubernetesService.isBlank();
  }

  /**
   * Instances of a role's verticle: CHAT_GATEWAY_INSTANCES, CHAT_SESSION_INSTANCES, CHAT_CACHE_INSTANCES,
   * CHAT_AI_BRIDGE_INSTANCES (each CHAT_EVENT_LOOPS: one per event loop).
   */
  int instances(String role) {
    return Math.max(1, source.integer("CHAT_" + role.toUpperCase().replace('-', '_') + "_INSTANCES", eventLoops));
  }
}
