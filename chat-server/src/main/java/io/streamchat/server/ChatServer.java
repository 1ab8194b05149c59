package io.streamchat.server;

import com.hazelcast.config.Config;
import com.hazelcast.config.FileSystemXmlConfig;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.SplitBrainProtectionConfig;
import ch.qos.logback.classic.LoggerContext;
import io.streamchat.ai.AiBridgeVerticle;
import io.streamchat.cache.CacheVerticle;
import io.streamchat.cache.EmbeddedRedis;
import io.streamchat.audit.AuditVerticle;
import io.streamchat.audit.EmbeddedKafka;
import io.streamchat.durable.DurableVerticle;
import io.streamchat.durable.EmbeddedPostgresServer;
import io.streamchat.gateway.AuthSettings;
import io.streamchat.gateway.GatewayVerticle;
import io.streamchat.protocol.AuditSettings;
import io.streamchat.protocol.ConfigSource;
import io.streamchat.session.SessionVerticle;
import io.vertx.core.Deployable;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.Label;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
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
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node: Vert.x (clustered when members are configured), the verticles of its roles, and an
 * embedded Redis when none is configured. Stops in the reverse order: sockets close with 1012
 * first, then sessions are stored and released, then the rest.
 *
 * <p>A node the cluster dropped (it stood still longer than the members' heartbeat timeout, or it
 * was split from them and merged back) does not trust its view of the cluster: it leaves and
 * joins again as a new member, in the same process. Its sockets close with 1012 and reconnect.
 */
public final class ChatServer {

  /** The split-brain protection of the session leases (CHAT_CLUSTER_QUORUM). */
  private static final String LEASE_QUORUM = "chat-session-leases-quorum";
  private static final Logger LOG = LoggerFactory.getLogger(ChatServer.class);
  private static final String VERTX_NODE_ID = "__vertx.nodeId";
  private static final String REJOIN_THREAD = "cluster-rejoin";
  /** How long each step of leaving may take for a node the cluster dropped. */
  private static final long DROPPED_STEP_MS = 5000;
  /** Tries at joining the cluster, each bound by CHAT_CLUSTER_JOIN_TIMEOUT_MS. */
  private static final int JOIN_ATTEMPTS = 3;

  private static final Map<String, Supplier<Deployable>> VERTICLES = Map.of(
      "cache", CacheVerticle::new,
      "durable", DurableVerticle::new,
      "audit", AuditVerticle::new,
      "session", SessionVerticle::new,
      "ai-bridge", AiBridgeVerticle::new,
      "gateway", GatewayVerticle::new);
  /** Start order: a verticle's dependencies start before it. */
  private static final List<String> START_ORDER = List.of("cache", "durable", "audit", "session", "ai-bridge", "gateway");

  private final ServerConfig config;
  private final JsonObject verticleConfig;
  private final EmbeddedRedis embeddedRedis;
  private final EmbeddedPostgresServer embeddedPostgres;
  private final EmbeddedKafka embeddedKafka;
  private final PauseDetector pauses;
  private final ExecutorService rejoiner = Executors.newSingleThreadExecutor(runnable -> {
    Thread thread = new Thread(runnable, REJOIN_THREAD);
    // Not a daemon: between the old member's stop and the new one's start it can be the only
    // thread left, and the process would exit in the middle of its rejoin. stop() ends it.
    thread.setDaemon(false);
    return thread;
  });
  /** The running node; replaced when it rejoins the cluster. Guarded by {@code this}. */
  private Running running;
  private boolean stopped;

  private ChatServer(ServerConfig config, JsonObject verticleConfig, EmbeddedRedis embeddedRedis,
                     EmbeddedPostgresServer embeddedPostgres, EmbeddedKafka embeddedKafka) {
    this.config = config;
    this.verticleConfig = verticleConfig;
    this.embeddedRedis = embeddedRedis;
    this.embeddedPostgres = embeddedPostgres;
    this.embeddedKafka = embeddedKafka;
    long memberTimeoutMs = verticleConfig.getLong("CHAT_CLUSTER_MEMBER_TIMEOUT_MS", 0L);
    this.pauses = config.clustered() && memberTimeoutMs > 0 ? new PauseDetector(memberTimeoutMs, stoodStillMs -> rejoin(null,
        "it stood still for " + stoodStillMs + " ms, longer than the cluster waits for a member")) : null;
  }

  /** Starts a node. Blocking (starts processes): call it from main or a test thread, not an event loop. */
  public static ChatServer start(JsonObject settings) throws Exception {
    ServerConfig config = ServerConfig.from(ConfigSource.of(settings));
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext logs) {
      logs.putProperty(LogEncoder.NODE_PROPERTY, config.nodeId());
    }
    JsonObject verticleConfig = settings.copy().put("CHAT_NODE_ID", config.nodeId())
        .put("CHAT_ROLES", String.join(",", config.roles()));
    Config clusterConfig = config.clustered() ? hazelcast(config) : null;
    if (clusterConfig != null) {
      // A pause longer than this got the node dropped from the cluster.
      String seconds = clusterConfig.getProperty("hazelcast.max.no.heartbeat.seconds");
      verticleConfig.put("CHAT_CLUSTER_MEMBER_TIMEOUT_MS", 1000L * Integer.parseInt(seconds == null ? "60" : seconds));
    }
    EmbeddedRedis redis = null;
    EmbeddedPostgresServer postgres = null;
    EmbeddedKafka kafka = null;
    try {
      if (config.redisUrl() == null && config.roles().contains("cache")) {
        redis = EmbeddedRedis.persistent(config.dataDir().resolve("redis"), config.embeddedRedisPort());
        verticleConfig.put("CHAT_REDIS_URL", redis.url());
      }
      if (config.dbUrl() == null && config.roles().contains("cache")) {
        postgres = EmbeddedPostgresServer.persistent(config.dataDir().resolve("postgres"), config.embeddedDbPort());
      }
      if (config.embedsKafka()) {
        kafka = EmbeddedKafka.persistent(config.dataDir().resolve("kafka"), config.embeddedKafkaPort());
      }
    } catch (Exception e) {
      if (redis != null) {
        redis.close();
      }
      if (postgres != null) {
        postgres.close();
      }
      throw e;
    }
    if (kafka != null) {
      verticleConfig.put("CHAT_KAFKA_BOOTSTRAP", kafka.bootstrap());
    } else if (config.kafkaBootstrap() == null) {
      LOG.warn("CHAT_KAFKA_BOOTSTRAP is not set and this node has no storage role to embed a Kafka: the events of "
          + "the sessions it owns are not written to an audit log");
      verticleConfig.put("CHAT_KAFKA_BOOTSTRAP", "none");
    }
    // A node without the storage role still writes to, and reads from, the durable tier of the nodes that have it.
    verticleConfig.put("CHAT_DB_URL", postgres != null ? postgres.url() : config.dbUrl() == null ? "embedded" : config.dbUrl());
    ChatServer server = new ChatServer(config, verticleConfig, redis, postgres, kafka);
    try {
      Running node = server.startNode(clusterConfig, false);
      synchronized (server) {
        server.running = node;
      }
    } catch (Exception e) {
      server.stop();
      throw e;
    }
    LOG.info("Node {} started with {} on {} event loops{}{}{}", config.nodeId(), server.verticles(), config.eventLoops(),
        redis == null ? "" : ", an embedded Redis at " + redis.url(),
        postgres == null ? "" : ", an embedded PostgreSQL at " + postgres.url(),
        kafka == null ? "" : ", an embedded Kafka at " + kafka.bootstrap());
    if (config.roles().contains("gateway") && !AuthSettings.from(ConfigSource.of(settings)).enabled()) {
      LOG.warn("AUTHENTICATION IS OFF: no CHAT_AUTH_JWT_SECRET, CHAT_AUTH_JWT_PUBLIC_KEY or CHAT_AUTH_JWKS_FILE is set, "
          + "so any client may act as any user. Set one before this node faces the internet.");
    }
    return server;
  }

  /**
   * Vert.x's own meters: HTTP, pools and the JVM. No label that grows with the traffic: no event-bus
   * address (one per session and connection), no remote address, no request path. Its event-bus
   * meters are off unless CHAT_METRICS_VERTX_DISABLED says otherwise: they look meters up on every
   * message, several microseconds of CPU per chunk (the node counts its own event-bus timeouts).
   */
  private MicrometerMetricsOptions vertxMetricsOptions() {
    // Vert.x keeps a registry per name, process-wide, until the instance that made it closes: each
    // instance gets a name of its own, so that one abandoned while it joined cannot lend its registry.
    MicrometerMetricsOptions options = new MicrometerMetricsOptions().setEnabled(true).setJvmMetricsEnabled(true)
        .setMeterCacheEnabled(true).setRegistryName(config.nodeId() + "-" + UUID.randomUUID())
        .setLabels(EnumSet.of(Label.HTTP_METHOD, Label.HTTP_CODE, Label.HTTP_ROUTE, Label.EB_FAILURE, Label.EB_SIDE,
            Label.POOL_TYPE, Label.POOL_NAME, Label.NAMESPACE));
    for (String domain : config.source().string("CHAT_METRICS_VERTX_DISABLED", "EVENT_BUS").split(",")) {
      if (!domain.isBlank()) {
        options.addDisabledMetricsCategory(MetricsDomain.valueOf(domain.strip().toUpperCase(Locale.ROOT)));
      }
    }
    return options;
  }

  /** @param rejoining the cluster dropped this node before: every step of a failed start is time-bound */
  private Running startNode(Config clusterConfig, boolean rejoining) throws Exception {
    Running node;
    Metrics metrics;
    if (clusterConfig == null) {
      metrics = new Metrics(config.nodeId());
      Vertx vertx = Vertx.builder().with(vertxOptions()).withMetrics(new MicrometerMetricsFactory(metrics.registry()))
          .build();
      Metrics.install(vertx, metrics);
      node = new Running(vertx, null);
    } else {
      Joined joined = joinCluster(clusterConfig);
      metrics = joined.metrics();
      node = new Running(joined.vertx(), joined.hazelcast());
      watchMembership(node);
    }
    metrics.gauge("jvm_heap_used_bytes", "Heap in use",
        () -> ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
    com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    metrics.functionCounter("jvm_allocated_bytes_total", "Bytes allocated on the heap since the node started",
        threads::getTotalThreadAllocatedBytes);
    try {
      for (String role : START_ORDER) {
        boolean audits = "audit".equals(role) && config.roles().contains("session")
            && AuditSettings.from(ConfigSource.of(verticleConfig)).enabled();
        if (config.roles().contains(role) || ("durable".equals(role) && config.durable()) || audits) {
          // One Kafka producer per node: it batches the records of every session verticle instance.
          int instances = audits ? 1 : config.instances(role);
          DeploymentOptions options = new DeploymentOptions().setConfig(verticleConfig).setInstances(instances);
          node.deployments.push(new Deployment(role, node.vertx.deployVerticle(VERTICLES.get(role), options).await(),
              instances));
        }
      }
    } catch (Exception e) {
      node.stop(rejoining);
      throw e;
    }
    return node;
  }

  /** A clustered Vert.x on its Hazelcast member, and the meters it reports to. */
  private record Joined(Vertx vertx, HazelcastInstance hazelcast, Metrics metrics) {
  }

  private VertxOptions vertxOptions() {
    return new VertxOptions().setEventLoopPoolSize(config.eventLoops()).setPreferNativeTransport(true)
        .setMetricsOptions(vertxMetricsOptions());
  }

  /**
   * Starts a Hazelcast member and a clustered Vert.x on it. Joining can hang: a member that another
   * suspects, but that still answers, can leave a registration waiting for it with no end (seen on
   * two busy cores). When Vert.x has not joined CHAT_CLUSTER_JOIN_TIMEOUT_MS after the member
   * started, the member is stopped and the node tries again as a new one, up to
   * {@link #JOIN_ATTEMPTS} times.
   */
  private Joined joinCluster(Config firstConfig) throws Exception {
    Config clusterConfig = firstConfig;
    for (int attempt = 1; ; attempt++) {
      HazelcastInstance hazelcast = Hazelcast.newHazelcastInstance(clusterConfig);
      Metrics metrics = new Metrics(config.nodeId());
      Future<Vertx> started = Vertx.builder()
          .with(vertxOptions().setEventBusOptions(new EventBusOptions().setHost(config.clusterHost())))
          .withClusterManager(new HazelcastClusterManager(hazelcast))
          .withMetrics(new MicrometerMetricsFactory(metrics.registry()))
          .buildClustered();
      try {
        Vertx vertx = started.await(config.clusterJoinTimeoutMs(), TimeUnit.MILLISECONDS);
        Metrics.install(vertx, metrics);
        return new Joined(vertx, hazelcast, metrics);
      } catch (TimeoutException hung) {
        hazelcast.getLifecycleService().terminate();
        abandon(started);
        if (attempt == JOIN_ATTEMPTS) {
          throw new IllegalStateException("joining the cluster hung " + JOIN_ATTEMPTS + " times", hung);
        }
        LOG.warn("Joining the cluster did not finish within {} ms (attempt {} of {}); this node tries again as a new member",
            config.clusterJoinTimeoutMs(), attempt, JOIN_ATTEMPTS);
        clusterConfig = hazelcast(config);
      } catch (Exception e) {
        hazelcast.getLifecycleService().terminate();
        abandon(started);
        throw e;
      }
    }
  }

  /** Waits (bounded) until a start given up has failed, or closes it if it started after all. */
  private static void abandon(Future<Vertx> started) {
    try {
      started.transform(result -> result.succeeded() ? result.result().close() : Future.succeededFuture())
          .await(DROPPED_STEP_MS, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      LOG.warn("A Vert.x start given up has not ended yet: {}", e.toString());
    }
  }

  /**
   * Tells this node's verticles, on the event bus, when a member leaves (gateways follow sessions
   * it owned), and rejoins when Hazelcast merged this node back after a split.
   */
  private void watchMembership(Running node) {
    DeliveryOptions localOnly = new DeliveryOptions().setLocalOnly(true);
    node.hazelcast.getCluster().addMembershipListener(new MembershipListener() {
      @Override
      public void memberAdded(MembershipEvent event) {
        LOG.info("Cluster member joined: {}", event.getMember());
      }

      @Override
      public void memberRemoved(MembershipEvent event) {
        LOG.warn("Cluster member left: {}", event.getMember());
        node.vertx.eventBus().publish(Addresses.MEMBER_LEFT, event.getMember().getAttribute(VERTX_NODE_ID), localOnly);
      }
    });
    node.hazelcast.getLifecycleService().addLifecycleListener(event -> {
      if (event.getState() == LifecycleEvent.LifecycleState.MERGED) {
        rejoin(node, "it was split from the cluster and merged back");
      }
    });
  }

  /**
   * Leaves the cluster and joins it again as a new member. The sessions this node owned were
   * claimed by the others meanwhile (their leases name a member that left); its sockets close
   * with 1012 and reconnect. The node stops for good when it cannot join again.
   *
   * @param reporter the run that noticed it was dropped, or null for whichever runs now
   */
  private void rejoin(Running reporter, String why) {
    rejoiner.execute(() -> {
      Running stale;
      synchronized (this) {
        if (stopped || running == null || running.leaving || (reporter != null && reporter != running)) {
          return;
        }
        stale = running;
        stale.leaving = true;
      }
      LOG.warn("Node {} left the cluster because {}; it joins again as a new member", config.nodeId(), why);
      stale.stop(true);
      try {
        Running fresh = startNode(hazelcast(config), true);
        boolean keep;
        synchronized (this) {
          keep = !stopped;
          if (keep) {
            running = fresh;
          }
        }
        if (!keep) {
          fresh.stop(false);
          return;
        }
        LOG.info("Node {} joined the cluster again", config.nodeId());
      } catch (Exception e) {
        synchronized (this) {
          if (stopped) {
            // A stop (SIGTERM) began meanwhile, and it waits for this rejoin: exiting here would
            // block on the shutdown under way, and the stop would wait for this thread in vain.
            LOG.info("Node {} stopped while it was joining the cluster again", config.nodeId());
            return;
          }
        }
        LOG.error("Node {} could not join the cluster again; it exits", config.nodeId(), e);
        stop();
        System.exit(70);
      }
    });
  }

  /** The Vert.x instance of the running node (a new one after the node rejoined the cluster). */
  public synchronized Vertx vertx() {
    return running.vertx;
  }

  public String nodeId() {
    return config.nodeId();
  }

  /** Blocking graceful stop. */
  public void stop() {
    Running node;
    synchronized (this) {
      if (stopped) {
        return;
      }
      stopped = true;
      node = running;
      running = null;
    }
    if (pauses != null) {
      pauses.close();
    }
    rejoiner.shutdown();
    if (!REJOIN_THREAD.equals(Thread.currentThread().getName())) {
      // A rejoin under way finishes first (its new node is then stopped here); time-bound.
      try {
        rejoiner.awaitTermination(1, TimeUnit.MINUTES);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (node != null) {
      node.stop(false);
    }
    if (embeddedRedis != null) {
      timed("the embedded Redis", embeddedRedis::close);
    }
    if (embeddedPostgres != null) {
      timed("the embedded PostgreSQL", embeddedPostgres::close);
    }
    if (embeddedKafka != null) {
      timed("the embedded Kafka", embeddedKafka::close);
    }
  }

  private static void timed(String what, Runnable stop) {
    long startedMs = System.currentTimeMillis();
    stop.run();
    LOG.debug("Stopped {} in {} ms", what, System.currentTimeMillis() - startedMs);
  }

  private record Deployment(String role, String id, int instances) {
  }

  /** The verticles running, in the order they started, with their instances: "gateway ×2, session ×2, …". */
  private synchronized String verticles() {
    List<String> started = new ArrayList<>();
    running.deployments.descendingIterator()
        .forEachRemaining(deployment -> started.add(deployment.role() + " ×" + deployment.instances()));
    return started.isEmpty() ? "no verticles" : String.join(", ", started);
  }

  /** One run of the node's Vert.x, cluster member and verticles. */
  private static final class Running {
    final Vertx vertx;
    final HazelcastInstance hazelcast;
    final Deque<Deployment> deployments = new ArrayDeque<>();
    /** Set once the node decided to leave the cluster and join again. */
    volatile boolean leaving;

    Running(Vertx vertx, HazelcastInstance hazelcast) {
      this.vertx = vertx;
      this.hazelcast = hazelcast;
    }

    /**
     * Undeploys in reverse start order, then leaves the cluster. A node that was dropped from the
     * cluster gives each step a bound, then stops its member at once (its view of the cluster is
     * stale: a cluster call could wait for members that no longer answer it), and hands no
     * partition over.
     */
    void stop(boolean droppedFromCluster) {
      long boundMs = droppedFromCluster ? DROPPED_STEP_MS : Long.MAX_VALUE;
      while (!deployments.isEmpty()) {
        Deployment deployment = deployments.pop();
        long startedMs = System.currentTimeMillis();
        try {
          vertx.undeploy(deployment.id()).await(boundMs, TimeUnit.MILLISECONDS);
          LOG.debug("Stopped the {} verticles in {} ms", deployment.role(), System.currentTimeMillis() - startedMs);
        } catch (Exception e) {
          LOG.warn("Stopping the {} verticles failed: {}", deployment.role(), e.toString());
          if (droppedFromCluster && hazelcast != null) {
            hazelcast.getLifecycleService().terminate();
          }
        }
      }
      long closingMs = System.currentTimeMillis();
      try {
        vertx.close().await(boundMs, TimeUnit.MILLISECONDS);
        LOG.debug("Closed Vert.x in {} ms", System.currentTimeMillis() - closingMs);
      } catch (Exception e) {
        LOG.warn("Closing Vert.x failed: {}", e.toString());
      }
      if (hazelcast != null) {
        long leavingMs = System.currentTimeMillis();
        if (droppedFromCluster) {
          hazelcast.getLifecycleService().terminate();
        } else {
          hazelcast.shutdown();
        }
        LOG.debug("Left the cluster in {} ms", System.currentTimeMillis() - leavingMs);
      }
    }
  }

  private static Config hazelcast(ServerConfig config) throws IOException {
    Path file = Path.of(config.clusterConfig());
    Config hazelcast = Files.exists(file)
        ? new FileSystemXmlConfig(file.toFile())
        : new com.hazelcast.config.ClasspathXmlConfig("cluster.xml");
    hazelcast.getNetworkConfig().setPort(config.clusterPort());
    JoinConfig join = hazelcast.getNetworkConfig().getJoin();
    if (config.discoversOnKubernetes()) {
      // DNS lookup of a headless service: no API access (and no RBAC) needed.
      join.getTcpIpConfig().setEnabled(false);
      join.getMulticastConfig().setEnabled(false);
      join.getKubernetesConfig().setEnabled(true).setProperty("service-dns", config.clusterKubernetesService());
    } else {
      join.getTcpIpConfig().setMembers(List.of(config.clusterMembers().split(",")));
    }
    if (config.clusterHost().matches("[0-9.]+|[0-9a-fA-F:]+")) {
      hazelcast.getNetworkConfig().getInterfaces().setEnabled(true).setInterfaces(List.of(config.clusterHost()));
    } else {
      // A host name (as in docker-compose): bind all interfaces, advertise the name.
      hazelcast.getNetworkConfig().getInterfaces().setEnabled(false);
      hazelcast.getNetworkConfig().setPublicAddress(config.clusterHost());
    }
    if (config.clusterQuorum() > 1) {
      // A side of a split smaller than the quorum (or a member alone after a long pause) takes no
      // lease, so it claims no session: the claims stay with the side that has the majority.
      hazelcast.addSplitBrainProtectionConfig(
          new SplitBrainProtectionConfig(LEASE_QUORUM, true, config.clusterQuorum()));
      hazelcast.getMapConfig(Addresses.SESSION_LEASES).setSplitBrainProtectionName(LEASE_QUORUM);
    }
    hazelcast.setInstanceName(config.nodeId());
    // Vert.x takes its cluster node id from this attribute when it is handed a Hazelcast instance.
    hazelcast.getMemberAttributeConfig().setAttribute(VERTX_NODE_ID, UUID.randomUUID().toString());
    return hazelcast;
  }

}
