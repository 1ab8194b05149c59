package io.streamchat.server;

import com.hazelcast.config.Config;
import com.hazelcast.config.FileSystemXmlConfig;
import com.hazelcast.config.TcpIpConfig;
import io.streamchat.ai.AiBridgeVerticle;
import io.streamchat.cache.CacheVerticle;
import io.streamchat.cache.EmbeddedRedis;
import io.streamchat.gateway.GatewayVerticle;
import io.streamchat.protocol.ConfigSource;
import io.streamchat.session.SessionVerticle;
import io.vertx.core.Deployable;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.LifecycleEvent;
import io.streamchat.protocol.Addresses;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.streamchat.protocol.Metrics;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node: Vert.x (clustered when members are configured), the verticles of its roles, and an
 * embedded Redis when none is configured. Stops in the reverse order: sockets close with 1012
 * first, then sessions are stored and released, then the rest.
 */
public final class ChatServer {

  private static final Logger LOG = LoggerFactory.getLogger(ChatServer.class);
  private static final String VERTX_NODE_ID = "__vertx.nodeId";

  private static final Map<String, Supplier<Deployable>> VERTICLES = Map.of(
      "cache", CacheVerticle::new,
      "session", SessionVerticle::new,
      "ai-bridge", AiBridgeVerticle::new,
      "gateway", GatewayVerticle::new);
  /** Start order: a verticle's dependencies start before it. */
  private static final List<String> START_ORDER = List.of("cache", "session", "ai-bridge", "gateway");

  private final ServerConfig config;
  private final Vertx vertx;
  private final EmbeddedRedis embeddedRedis;
  private final HazelcastInstance hazelcast;
  private final Deque<String> deployments = new ArrayDeque<>();

  private ChatServer(ServerConfig config, Vertx vertx, EmbeddedRedis embeddedRedis, HazelcastInstance hazelcast) {
    this.config = config;
    this.vertx = vertx;
    this.embeddedRedis = embeddedRedis;
    this.hazelcast = hazelcast;
  }

  /** Tells this node's verticles, on the event bus, when a member leaves: gateways follow sessions it owned. */
  private static void announceDepartures(Vertx vertx, HazelcastInstance hazelcast) {
    DeliveryOptions localOnly = new DeliveryOptions().setLocalOnly(true);
    hazelcast.getCluster().addMembershipListener(new MembershipListener() {
      @Override
      public void memberAdded(MembershipEvent event) {
        LOG.info("Cluster member joined: {}", event.getMember());
      }

      @Override
      public void memberRemoved(MembershipEvent event) {
        LOG.warn("Cluster member left: {}", event.getMember());
        vertx.eventBus().publish(Addresses.MEMBER_LEFT, event.getMember().getAttribute(VERTX_NODE_ID), localOnly);
      }
    });
    hazelcast.getLifecycleService().addLifecycleListener(event -> {
      if (event.getState() == LifecycleEvent.LifecycleState.MERGED) {
        LOG.info("Merged back into the cluster");
        vertx.eventBus().publish(Addresses.CLUSTER_MERGED, "", localOnly);
      }
    });
  }

  /** Starts a node. Blocking (starts processes): call it from main or a test thread, not an event loop. */
  public static ChatServer start(JsonObject settings) throws Exception {
    ServerConfig config = ServerConfig.from(ConfigSource.of(settings));
    EmbeddedRedis redis = null;
    JsonObject verticleConfig = settings.copy().put("CHAT_NODE_ID", config.nodeId())
        .put("CHAT_ROLES", String.join(",", config.roles()));
    if (config.redisUrl() == null && config.roles().contains("cache")) {
      redis = EmbeddedRedis.persistent(config.dataDir().resolve("redis"), config.embeddedRedisPort());
      verticleConfig.put("CHAT_REDIS_URL", redis.url());
    }
    Vertx vertx;
    HazelcastInstance hazelcast;
    try {
      Config clusterConfig = config.clustered() ? hazelcast(config) : null;
      if (clusterConfig != null) {
        // The session verticles tell a pause that got this node dropped from the cluster by this timeout.
        verticleConfig.put("CHAT_CLUSTER_MEMBER_TIMEOUT_MS", 1000L * Integer.parseInt(
            clusterConfig.getProperty("hazelcast.max.no.heartbeat.seconds") == null ? "60"
                : clusterConfig.getProperty("hazelcast.max.no.heartbeat.seconds")));
      }
      hazelcast = clusterConfig != null ? Hazelcast.newHazelcastInstance(clusterConfig) : null;
      VertxOptions vertxOptions = new VertxOptions().setEventLoopPoolSize(config.eventLoops())
          .setPreferNativeTransport(true);
      vertx = hazelcast != null
          ? Vertx.builder().with(vertxOptions.setEventBusOptions(new EventBusOptions().setHost(config.clusterHost())))
              .withClusterManager(new HazelcastClusterManager(hazelcast))
              .buildClustered().await()
          : Vertx.builder().with(vertxOptions).build();
    } catch (Exception e) {
      if (redis != null) {
        redis.close();
      }
      throw e;
    }
    if (hazelcast != null) {
      announceDepartures(vertx, hazelcast);
    }
    ChatServer server = new ChatServer(config, vertx, redis, hazelcast);
    Metrics.of(vertx).gauge("jvm_heap_used_bytes", "Heap in use",
        () -> ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
    try {
      for (String role : START_ORDER) {
        if (config.roles().contains(role)) {
          DeploymentOptions options = new DeploymentOptions().setConfig(verticleConfig).setInstances(config.instances(role));
          server.deployments.push(vertx.deployVerticle(VERTICLES.get(role), options).await());
        }
      }
    } catch (Exception e) {
      server.stop();
      throw e;
    }
    LOG.info("Node {} started with roles {}{}", config.nodeId(), config.roles(),
        redis == null ? "" : " and an embedded Redis at " + redis.url());
    return server;
  }

  public Vertx vertx() {
    return vertx;
  }

  public String nodeId() {
    return config.nodeId();
  }

  /** Blocking graceful stop. */
  public void stop() {
    while (!deployments.isEmpty()) {
      String id = deployments.pop();
      try {
        vertx.undeploy(id).await();
      } catch (Exception e) {
        LOG.warn("Undeploying {} failed: {}", id, e.toString());
      }
    }
    try {
      vertx.close().await();
    } catch (Exception e) {
      LOG.warn("Closing Vert.x failed: {}", e.toString());
    }
    if (hazelcast != null) {
      hazelcast.shutdown();
    }
    if (embeddedRedis != null) {
      embeddedRedis.close();
    }
  }

  private static Config hazelcast(ServerConfig config) throws IOException {
    Path file = Path.of(config.clusterConfig());
    Config hazelcast = Files.exists(file)
        ? new FileSystemXmlConfig(file.toFile())
        : new com.hazelcast.config.ClasspathXmlConfig("cluster.xml");
    hazelcast.getNetworkConfig().setPort(config.clusterPort());
    TcpIpConfig tcpIp = hazelcast.getNetworkConfig().getJoin().getTcpIpConfig();
    tcpIp.setMembers(List.of(config.clusterMembers().split(",")));
    if (config.clusterHost().matches("[0-9.]+|[0-9a-fA-F:]+")) {
      hazelcast.getNetworkConfig().getInterfaces().setEnabled(true).setInterfaces(List.of(config.clusterHost()));
    } else {
      // A host name (as in docker-compose): bind all interfaces, advertise the name.
      hazelcast.getNetworkConfig().getInterfaces().setEnabled(false);
      hazelcast.getNetworkConfig().setPublicAddress(config.clusterHost());
    }
    hazelcast.setInstanceName(config.nodeId());
    // Vert.x takes its cluster node id from this attribute when it is handed a Hazelcast instance.
    hazelcast.getMemberAttributeConfig().setAttribute(VERTX_NODE_ID, UUID.randomUUID().toString());
    return hazelcast;
  }

}
