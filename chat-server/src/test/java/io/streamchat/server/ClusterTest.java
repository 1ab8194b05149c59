package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamchat.cache.EmbeddedRedis;
import io.streamchat.testkit.ChatEventsTail;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.testkit.ChatFollower;
import io.streamchat.testkit.FakeOpenAi;
import io.streamchat.testkit.FakeOpenAi.Script;
import io.streamchat.testkit.AuditTopic;
import io.streamchat.testkit.KafkaProcess;
import io.streamchat.testkit.NodeProcess;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.Response;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Several real JVMs in one Hazelcast cluster, sharing one Redis: ownership, forwarding, fencing and failover. */
class ClusterTest {

  private static final String ALL = "gateway,session,cache,ai-bridge";
  private static final String NO_BRIDGE = "gateway,session,cache";

  private static EmbeddedRedis redis;
  private static Vertx vertx;
  private static FakeOpenAi ai;
  private static int clusterPort;
  private final List<NodeProcess> nodes = Collections.synchronizedList(new ArrayList<>());
  private final HttpClient http = HttpClient.newHttpClient();
  private int started;

  @BeforeAll
  static void startDependencies() throws Exception {
    redis = EmbeddedRedis.start();
    vertx = Vertx.vertx();
    ai = FakeOpenAi.start(vertx);
    clusterPort = NodeProcess.freePortBlock(6);
  }

  @AfterAll
  static void stopDependencies() {
    ai.close();
    vertx.close().await();
    redis.close();
  }

  @RegisterExtension
  final NodeLogsInFailures nodeLogsInFailures = new NodeLogsInFailures(() -> nodes);

  @AfterEach
  void stopNodes() throws Exception {
    for (NodeProcess node : nodes) {
      node.close();
    }
  }

  private NodeProcess startNode(String roles) throws Exception {
    return startNode(roles, Map.of());
  }

  private NodeProcess startNode(String roles, Map<String, String> settings) throws Exception {
    Map<String, String> env = new HashMap<>(BackToBackClient.clusterSettings(clusterPort, redis.url(), ai.baseUrl()));
    env.put("CHAT_ROLES", roles);
    env.put("CHAT_GENERATOR_TIMEOUT_MS", "4000");
    env.put("CHAT_AI_DRAIN_MS", "20000");
    env.putAll(settings);
    NodeProcess node = NodeProcess.start("node" + ++started, env,
        List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
    nodes.add(node);
    return node;
  }

  private List<NodeProcess> startCluster(String... roles) throws Exception {
    List<NodeProcess> cluster = new ArrayList<>();
    for (String role : roles) {
      cluster.add(startNode(role));
    }
    for (NodeProcess node : cluster) {
      node.awaitReady(roles.length, Duration.ofSeconds(60));
    }
    return cluster;
  }

  private static TestSocket follow(NodeProcess node, String session, ChatFollower follower) {
    String query = "session_id=" + session;
    if (follower.hasCursor()) {
      query += "&last_seq=" + follower.seq() + "&epoch=" + follower.epoch();
    }
    return TestSocket.connect(vertx, node.httpPort, query, follower);
  }

  private static JsonObject message(String content) {
    return new JsonObject().put("type", "message").put("content", content);
  }


  @Test
  void twoClientsOfOneSessionOnDifferentNodesReceiveIdenticalEvents() throws Exception {
    List<NodeProcess> cluster = startCluster(ALL, ALL, ALL);
    ai.script(Script.tokens(60, 5));
    ChatFollower first = new ChatFollower();
    ChatFollower second = new ChatFollower();
    try (TestSocket a = follow(cluster.get(0), "shared", first); TestSocket b = follow(cluster.get(1), "shared", second)) {
      a.next();
      b.next();
      b.send(message("from node 2"));
      List<JsonObject> seenByA = a.takeUntil("complete");
      List<JsonObject> seenByB = b.takeUntil("complete");
      assertThat(seenByA).hasSize(63).isEqualTo(seenByB);
    }
    assertThat(first.violations()).isEmpty();
    assertThat(first.lastAnswer().content.toString()).isEqualTo(StreamingProtocolTest.expectedAnswer(60));
  }

  @Test
  void aServiceOnAnotherNodeOfTheClusterFollowsChatEventsAndCallsChatApi() throws Exception {
    startCluster(ALL, ALL);
    List<String> members = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      members.add("127.0.0.1:" + (clusterPort + i));
    }
    // A member with no chat role: another service of the cluster.
    ChatServer service = ChatServer.start(new JsonObject().put("CHAT_ROLES", "").put("CHAT_NODE_ID", "service")
        .put("CHAT_CLUSTER_MEMBERS", String.join(",", members)).put("CHAT_CLUSTER_PORT", clusterPort));
    try {
      for (NodeProcess node : nodes) {
        node.awaitReady(3, Duration.ofSeconds(60));
      }
      ChatEventsTail tail = new ChatEventsTail();
      service.vertx().deployVerticle(tail).await();
      ai.script(Script.tokens(10, 5));
      JsonObject accepted = service.vertx().eventBus().<JsonObject>request("chat.api", new JsonObject()
          .put("action", "send").put("session_id", "observed").put("user_id", "svc").put("message", "from a service"))
          .await().body();
      assertThat(accepted.getString("reply_message_id")).isNotNull();
      long deadline = System.currentTimeMillis() + 10_000;
      while (tail.events("observed").stream().noneMatch(e -> "complete".equals(e.getString("type")))) {
        assertThat(System.currentTimeMillis()).as("the answer's events reach the service").isLessThan(deadline);
        Thread.sleep(20);
      }
      List<JsonObject> events = tail.events("observed");
      assertThat(events).extracting(e -> e.getLong("seq"))
          .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, 13).boxed().toList());
      assertThat(events).allSatisfy(e -> assertThat(e.getString("user_id")).isEqualTo("svc"));
      assertThat(events.get(0).getString("type")).isEqualTo("user_message");
      assertThat(events.get(12).getString("content")).isEqualTo(StreamingProtocolTest.expectedAnswer(10));
      JsonObject history = service.vertx().eventBus().<JsonObject>request("chat.api", new JsonObject()
          .put("action", "history").put("session_id", "observed")).await().body();
      assertThat(history.getJsonArray("messages")).hasSize(2);
      assertThatThrownBy(() -> service.vertx().eventBus().request("chat.api", new JsonObject()
          .put("action", "send").put("session_id", "bad id!").put("message", "x")).await())
          .isInstanceOfSatisfying(io.vertx.core.eventbus.ReplyException.class, e -> {
            assertThat(e.failureCode()).isEqualTo(400);
            assertThat(e.getMessage()).isEqualTo("bad_request");
          });
    } finally {
      service.stop();
    }
  }

  @Test
  void nodesRacingToActivateASessionNeverMakeTwoOwners() throws Exception {
    List<NodeProcess> cluster = startCluster(ALL, ALL, ALL);
    ai.script(Script.tokens(50, 20));
    ExecutorService pool = Executors.newFixedThreadPool(6);
    try {
      for (int s = 0; s < 20; s++) {
        String session = "race-" + s;
        CompletableFuture<Void> go = new CompletableFuture<>();
        List<Future<Integer>> statuses = new ArrayList<>();
        for (NodeProcess node : cluster) {
          statuses.add(pool.submit(() -> {
            go.join();
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.httpPort + "/api/chat"))
                    .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"session_id\":\"" + session + "\",\"message\":\"from " + node.nodeId + "\"}")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode();
          }));
        }
        go.complete(null);
        List<Integer> codes = new ArrayList<>();
        for (Future<Integer> status : statuses) {
          codes.add(status.get());
        }
        assertThat(codes).as(session).containsExactlyInAnyOrder(202, 409, 409);
      }
    } finally {
      pool.shutdownNow();
    }
    Redis client = Redis.createClient(vertx, redis.url());
    try {
      for (int s = 0; s < 20; s++) {
        Response claims = RedisAPI.api(client).hget("chat:{race-" + s + "}:meta", "claims").await();
        assertThat(claims.toLong()).as("claims of race-" + s + " (one fencing token issued)").isEqualTo(1);
      }
    } finally {
      client.close();
    }
  }

  @Test
  void killingTheOwnerMidAnswerLosesNothingAndTheStreamResumesElsewhere() throws Exception {
    List<NodeProcess> cluster = startCluster(NO_BRIDGE, ALL, ALL);
    NodeProcess survivor = cluster.get(1);
    NodeProcess owner = cluster.get(0);
    ai.script(Script.tokens(150, 20));
    List<Long> failoverMs = new ArrayList<>();
    for (int round = 0; round < 10; round++) {
      String session = "kill-" + round;
      ChatFollower follower = new ChatFollower();
      try (TestSocket socket = follow(owner, session, follower)) {
        socket.next();
        socket.send(message("survive a crash"));
        for (int chunks = 0; chunks < 15; ) {
          chunks += "chunk".equals(socket.next().getString("type")) ? 1 : 0;
        }
        owner.kill();
      }
      long killedAt = System.nanoTime();
      long firstChunkAt = 0;
      try (TestSocket socket = follow(survivor, session, follower)) {
        while (true) {
          JsonObject frame = socket.next();
          if (firstChunkAt == 0 && "chunk".equals(frame.getString("type"))) {
            firstChunkAt = System.nanoTime();
          }
          if ("complete".equals(frame.getString("type"))) {
            break;
          }
        }
      }
      failoverMs.add((firstChunkAt - killedAt) / 1_000_000);
      assertThat(follower.violations()).as(session).isEmpty();
      assertThat(follower.lastAnswer().status).isEqualTo("completed");
      assertThat(follower.lastAnswer().content.toString()).as(session).isEqualTo(StreamingProtocolTest.expectedAnswer(150));
      owner = startNode(NO_BRIDGE).awaitReady(3, Duration.ofSeconds(60));
    }
    Collections.sort(failoverMs);
    System.out.printf("FAILOVER kill -9 -> next chunk delivered, ms over %d kills: median %d, worst %d, all %s%n",
        failoverMs.size(), failoverMs.get(failoverMs.size() / 2), failoverMs.get(failoverMs.size() - 1), failoverMs);
  }

  @Test
  void killingTheNodeThatGeneratesAnAnswerLetsTheAnswerGoOnFromItsLastToken() throws Exception {
    String bridgeOnly = "gateway,ai-bridge";
    List<NodeProcess> cluster = startCluster(NO_BRIDGE, bridgeOnly, bridgeOnly);
    NodeProcess owner = cluster.get(0);
    List<NodeProcess> bridges = new ArrayList<>(cluster.subList(1, 3));
    ai.script(Script.tokens(150, 20));
    List<Long> nextTokenMs = new ArrayList<>();
    for (int round = 0; round < 10; round++) {
      String session = "gen-kill-" + round;
      ChatFollower follower = new ChatFollower();
      try (TestSocket socket = follow(owner, session, follower)) {
        socket.next();
        String question = "survive the generator's crash, round " + round;
        socket.send(message(question));
        for (int chunks = 0; chunks < 15; ) {
          chunks += "chunk".equals(socket.next().getString("type")) ? 1 : 0;
        }
        NodeProcess generator = generatorOf(bridges);
        generator.kill();
        long killedAt = System.nanoTime();
        List<Long> arrivals = new ArrayList<>();
        while (!"completed".equals(follower.lastAnswer().status)) {
          assertThat(socket.poll(Duration.ofSeconds(20))).as("frames keep coming after the generator died").isNotNull();
          recordArrivals(follower, arrivals);
        }
        nextTokenMs.add((arrivals.get(continuedFrom(question)) - killedAt) / 1_000_000);
        bridges.remove(generator);
        bridges.add(startNode(bridgeOnly));
      }
      assertThat(follower.violations()).as(session).isEmpty();
      assertThat(follower.lastAnswer().content.toString()).as(session + ": every token once, in order")
          .isEqualTo(StreamingProtocolTest.expectedAnswer(150));
      for (NodeProcess node : bridges) {
        node.awaitReady(3, Duration.ofSeconds(60));
      }
    }
    Collections.sort(nextTokenMs);
    System.out.printf("CONTINUATION kill -9 of the generating node -> next new token, ms over %d kills: median %d, "
        + "worst %d, all %s%n", nextTokenMs.size(), nextTokenMs.get(nextTokenMs.size() / 2),
        nextTokenMs.get(nextTokenMs.size() - 1), nextTokenMs);

    // Without automatic continuation the answer ends interrupted at once, and the user continues it.
    NodeProcess strictOwner = startNode(NO_BRIDGE, Map.of("CHAT_AUTO_CONTINUE", "false"));
    try {
      strictOwner.awaitReady(4, Duration.ofSeconds(60));
    } catch (IllegalStateException notJoined) {
      // Seen once on two busy cores, right after the kills: the joining member suspected a live one
      // and then refused the master's view ("claims mastership but it is not a member"), and never
      // joined. This test is about the answer; a new member is started once.
      System.out.println("RETRY a member that did not join was replaced: " + notJoined.getMessage().lines().findFirst().orElse(""));
      strictOwner.kill();
      strictOwner = startNode(NO_BRIDGE, Map.of("CHAT_AUTO_CONTINUE", "false")).awaitReady(4, Duration.ofSeconds(60));
    }
    ChatFollower follower = new ChatFollower();
    try (TestSocket socket = follow(strictOwner, "gen-kill-strict", follower)) {
      socket.next();
      socket.send(message("stop when the generator dies"));
      for (int chunks = 0; chunks < 15; ) {
        chunks += "chunk".equals(socket.next().getString("type")) ? 1 : 0;
      }
      generatorOf(bridges).kill();
      long killedAt = System.nanoTime();
      JsonObject interrupted = socket.until("complete");
      System.out.printf("INTERRUPTED kill -9 of the generating node -> complete interrupted after %d ms%n",
          (System.nanoTime() - killedAt) / 1_000_000);
      assertThat(interrupted.getString("status")).isEqualTo("interrupted");
      assertThat(interrupted.getJsonObject("error").getString("code")).isEqualTo("generator_lost");
      socket.send(new JsonObject().put("type", "continue"));
      assertThat(socket.until("stream_start").getString("continues")).isEqualTo(interrupted.getString("message_id"));
      JsonObject rest = socket.until("complete");
      assertThat(rest.getString("status")).isEqualTo("completed");
      assertThat(interrupted.getString("content") + rest.getString("content"))
          .isEqualTo(StreamingProtocolTest.expectedAnswer(150));
    }
    assertThat(follower.violations()).isEmpty();
  }

  @Test
  void killingTheNodeThatOwnsAndGeneratesAnAnswerLetsTheNewOwnerGoOnFromWhatWasStored() throws Exception {
    List<NodeProcess> cluster = startCluster(ALL, ALL, ALL);
    ai.script(Script.tokens(150, 20));
    List<Long> nextTokenMs = new ArrayList<>();
    for (int round = 0; round < 3; round++) {
      NodeProcess doomed = cluster.get(0);
      NodeProcess survivor = cluster.get(1);
      String session = "both-kill-" + round;
      ChatFollower follower = new ChatFollower();
      try (TestSocket socket = follow(doomed, session, follower)) {
        socket.next();
        socket.send(message("survive everything, round " + round));
        for (int chunks = 0; chunks < 15; ) {
          chunks += "chunk".equals(socket.next().getString("type")) ? 1 : 0;
        }
        doomed.kill();
      }
      long killedAt = System.nanoTime();
      List<Long> arrivals = new ArrayList<>();
      try (TestSocket socket = follow(survivor, session, follower)) {
        while (!"completed".equals(follower.lastAnswer().status)) {
          assertThat(socket.poll(Duration.ofSeconds(20))).as("frames keep coming after owner and generator died")
              .isNotNull();
          recordArrivals(follower, arrivals);
        }
      }
      nextTokenMs.add((arrivals.get(continuedFrom("survive everything, round " + round)) - killedAt) / 1_000_000);
      assertThat(follower.violations()).as(session).isEmpty();
      assertThat(follower.lastAnswer().content.toString()).as(session).isEqualTo(StreamingProtocolTest.expectedAnswer(150));
      cluster.remove(doomed);
      cluster.add(startNode(ALL));
      for (NodeProcess node : cluster) {
        node.awaitReady(3, Duration.ofSeconds(60));
      }
    }
    System.out.printf("CONTINUATION kill -9 of the node owning and generating an answer -> next new token, ms: %s%n",
        nextTokenMs);
  }

  /** Reads tab {@code i} until its follower has {@code answers} ended answers, resuming it whenever its node closes it. */
  private static void awaitAnswers(List<TestSocket> tabs, int i, NodeProcess node, String session, ChatFollower follower,
                                   int answers) throws InterruptedException {
    awaitAnswers(tabs, i, node, session, follower, answers, null);
  }

  /**
   * As above, for the tab that asked {@code question}: like a client, it sends the question again
   * (same {@code client_message_id}, so at most once stored) when its socket closed, the server
   * refused it, or a snapshot came without it, before the question showed up in the conversation.
   */
  private static void awaitAnswers(List<TestSocket> tabs, int i, NodeProcess node, String session, ChatFollower follower,
                                   int answers, JsonObject question) throws InterruptedException {
    awaitAnswers(tabs, i, node, session, follower, answers, question, Duration.ofSeconds(30));
  }

  private static void awaitAnswers(List<TestSocket> tabs, int i, NodeProcess node, String session, ChatFollower follower,
                                   int answers, JsonObject question, Duration timeout) throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeout.toMillis();
    while (BackToBackClient.completedAnswers(follower) < answers) {
      assertThat(System.currentTimeMillis()).as("tab %d gets answer %d", i, answers).isLessThan(deadline);
      JsonObject frame = tabs.get(i).poll(Duration.ofMillis(200));
      boolean askAgain = false;
      if (frame == null && tabs.get(i).isClosed()) {
        tabs.get(i).close();
        tabs.set(i, connectWhenUp(node, session, follower));
        askAgain = true;
      } else if (frame != null && "history".equals(frame.getString("type"))) {
        // A question that a fenced owner took but never stored is not in the snapshot after a
        // reset: the client rule sends it again (same client_message_id, so stored at most once).
        askAgain = true;
      } else if (frame != null && "error".equals(frame.getString("type"))) {
        System.out.printf("tab %d of %s was refused: %s%n", i, session, frame.encode());
        Thread.sleep(500);
        askAgain = true;
      }
      if (question != null && askAgain && userMessages(follower) < answers) {
        tabs.get(i).send(question);
      }
    }
  }

  private static long userMessages(ChatFollower follower) {
    return follower.messages().values().stream().filter(m -> m.role.equals("user")).count();
  }

  private static TestSocket connectWhenUp(NodeProcess node, String session, ChatFollower follower)
      throws InterruptedException {
    return connectRetrying(() -> node, session, follower);
  }

  /** Connects to the node {@code pick} names, again every 200 ms while the upgrade is refused (the node restarts). */
  private static TestSocket connectRetrying(java.util.function.Supplier<NodeProcess> pick, String session,
                                            ChatFollower follower) throws InterruptedException {
    for (int attempt = 0; ; attempt++) {
      try {
        return follow(pick.get(), session, follower);
      } catch (RuntimeException refused) {
        if (attempt > 50) {
          throw refused;
        }
        Thread.sleep(200);
      }
    }
  }

  private static boolean isEvent(JsonObject frame) {
    return java.util.Set.of("user_message", "stream_start", "chunk", "complete").contains(frame.getString("type"));
  }

  /**
   * The youngest member first. Tests that stop a node for seconds stop that one: when the
   * Hazelcast master itself hangs, the other members elect a new one, and on two loaded cores they
   * sometimes split from each other while they do (they merge back seconds later, see README).
   */
  private static List<NodeProcess> youngestFirst(List<NodeProcess> started) {
    List<NodeProcess> ordered = new ArrayList<>(started);
    Collections.rotate(ordered, 1);
    return ordered;
  }

  /** The bridge node running the one answer in flight. */
  private static NodeProcess generatorOf(List<NodeProcess> bridges) throws Exception {
    long deadline = System.currentTimeMillis() + 5000;
    while (System.currentTimeMillis() < deadline) {
      for (NodeProcess node : bridges) {
        if (node.metric("chat_ai_generations_active") > 0) {
          return node;
        }
      }
      Thread.sleep(20);
    }
    throw new AssertionError("no bridge reports a generation in flight");
  }

  /** When each chunk index of the latest answer was first applied (after a reset, the redrawn ones count as now). */
  private static void recordArrivals(ChatFollower follower, List<Long> arrivals) {
    ChatFollower.Message answer = follower.messages().values().stream().filter(m -> m.role.equals("assistant"))
        .reduce((a, b) -> b).orElse(null);
    while (answer != null && arrivals.size() < answer.nextIndex) {
      arrivals.add(System.nanoTime());
    }
  }

  /** The chunk index a continuation of the answer to {@code question} started at: the tokens in its prefilled text. */
  private static int continuedFrom(String question) {
    for (int i = ai.requests().size() - 1; i >= 0; i--) {
      JsonArray messages = ai.requests().get(i).getJsonArray("messages");
      JsonObject last = messages.getJsonObject(messages.size() - 1);
      boolean asked = messages.stream().anyMatch(m -> question.equals(((JsonObject) m).getString("content")));
      if (asked && "assistant".equals(last.getString("role"))) {
        return (int) last.getString("content").chars().filter(c -> c == ' ').count();
      }
    }
    throw new AssertionError("no continuation was requested for " + question);
  }

  @Test
  void aPausedOwnerThatWakesUpAfterLosingItsLeaseWritesNothing() throws Exception {
    // The member started first, alone, is Hazelcast's master for the whole test: the owner paused
    // below is another member. (A hung master, after which the healthy members may split, is the
    // case of the next test.)
    NodeProcess master = startNode(ALL).awaitReady(1, Duration.ofSeconds(60));
    List<NodeProcess> cluster = List.of(startNode(NO_BRIDGE), master, startNode(ALL));
    for (NodeProcess node : cluster) {
      node.awaitReady(3, Duration.ofSeconds(60));
    }
    NodeProcess owner = cluster.get(0);
    // 45 s: still streaming when the cluster has dropped the hung owner and another took the session,
    // so that the client sees chunks from the new owner, not only a history with the whole answer,
    // even when the healthy members split meanwhile and take tens of seconds to be one cluster again.
    ai.script(Script.tokens(1500, 30));
    try (TestSocket activator = follow(owner, "paused", new ChatFollower())) {
      activator.next();
    }
    ChatFollower follower = new ChatFollower();
    // Frames by epoch, then seq: should the others split while one member hangs (see README), a
    // socket may be closed and resumed, even under another epoch; the stored log is the last one's.
    Map<String, Map<Long, JsonObject>> seenByEpoch = new HashMap<>();
    TestSocket socket = follow(cluster.get(1), "paused", follower);
    try {
      socket.next();
      socket.send(message("hang on"));
      for (int chunks = 0; chunks < 20; ) {
        chunks += "chunk".equals(socket.next().getString("type")) ? 1 : 0;
      }
      String firstEpoch = follower.epoch();
      owner.pause();
      long pausedAt = System.currentTimeMillis();
      // Should the healthy members split while the owner hangs (README, "Known weakness"), the
      // chunks may wait until Hazelcast merges them and the merged member has joined again.
      long deadline = pausedAt + 90_000;
      int chunksFromNewOwner = 0;
      while (chunksFromNewOwner < 20) {
        assertThat(System.currentTimeMillis()).as("20 chunks from the new owner; %d came, the epoch is %s (%s before),"
            + " the answer is %s with %d chunks", chunksFromNewOwner, follower.epoch(), firstEpoch,
            follower.lastAnswer().status, follower.lastAnswer().nextIndex).isLessThan(deadline);
        JsonObject frame = socket.poll(Duration.ofMillis(200));
        if (frame == null) {
          if (socket.isClosed()) {
            socket.close();
            socket = connectWhenUp(cluster.get(1), "paused", follower);
          }
          continue;
        }
        if (!firstEpoch.equals(follower.epoch()) && isEvent(frame)) {
          if (seenByEpoch.isEmpty()) {
            System.out.printf("FAILOVER SIGSTOP -> reset from the new owner after %d ms%n",
                System.currentTimeMillis() - pausedAt);
          }
          seenByEpoch.computeIfAbsent(follower.epoch(), e -> new HashMap<>()).put(frame.getLong("seq"), frame);
          chunksFromNewOwner += "chunk".equals(frame.getString("type")) ? 1 : 0;
        }
      }
      owner.resume();
      while (!"completed".equals(follower.lastAnswer().status)) {
        assertThat(System.currentTimeMillis()).as("the answer completes; it is %s with %d chunks",
            follower.lastAnswer().status, follower.lastAnswer().nextIndex).isLessThan(deadline + 30_000);
        JsonObject frame = socket.poll(Duration.ofMillis(200));
        if (frame == null) {
          if (socket.isClosed()) {
            socket.close();
            socket = connectWhenUp(cluster.get(1), "paused", follower);
          }
        } else if (isEvent(frame)) {
          seenByEpoch.computeIfAbsent(follower.epoch(), e -> new HashMap<>()).put(frame.getLong("seq"), frame);
        }
      }
    } finally {
      socket.close();
    }
    Map<Long, JsonObject> afterReset = seenByEpoch.getOrDefault(follower.epoch(), Map.of());
    assertThat(follower.violations()).isEmpty();
    assertThat(follower.lastAnswer().content.toString()).isEqualTo(StreamingProtocolTest.expectedAnswer(1500));
    Thread.sleep(1500);
    List<JsonObject> log = StoredLog.read(vertx, redis.url(), "paused");
    for (int i = 0; i < log.size(); i++) {
      assertThat(log.get(i).getLong("seq")).as("the stored log has no gap or duplicate").isEqualTo(i + 1L);
    }
    for (JsonObject stored : log) {
      JsonObject seen = afterReset.get(stored.getLong("seq"));
      if (seen != null) {
        assertThat(stored).as("stored event %s is what the client got from the new owner", stored.getLong("seq"))
            .isEqualTo(seen);
      }
    }
    assertThat(log.get(log.size() - 1).getLong("seq")).isEqualTo(follower.seq());
  }

  @Test
  void aConversationComesBackUnchangedAfterItsNodeIsKilledAndRedisFlushedAndGoesOn() throws Exception {
    try (io.streamchat.durable.EmbeddedPostgresServer postgres = io.streamchat.durable.EmbeddedPostgresServer.start()) {
      Map<String, String> durable = Map.of("CHAT_DB_URL", postgres.url());
      NodeProcess node = startNode(ALL, durable).awaitReady(1, Duration.ofSeconds(60));
      ai.script(Script.tokens(10, 2));
      for (String session : List.of("kept-1", "kept-2")) {
        try (TestSocket socket = TestSocket.connect(vertx, node.httpPort, "session_id=" + session + "&user_id=dora",
            new ChatFollower())) {
          socket.next();
          for (String question : List.of("First question of " + session, "Second question")) {
            socket.send(message(question));
            assertThat(socket.until("complete").getString("status")).isEqualTo("completed");
          }
        }
      }
      JsonArray listBefore = awaitList(node, "dora", 2, 4);
      Map<String, JsonArray> historiesBefore = new HashMap<>();
      for (String session : List.of("kept-1", "kept-2")) {
        historiesBefore.put(session, new JsonObject(node.get("/api/history/" + session)).getJsonArray("messages"));
      }
      node.kill();
      Redis client = Redis.createClient(vertx, redis.url());
      try {
        RedisAPI.api(client).flushall(List.of()).await();
      } finally {
        client.close();
      }
      NodeProcess restarted = startNode(ALL, durable).awaitReady(1, Duration.ofSeconds(60));
      for (String session : List.of("kept-1", "kept-2")) {
        assertThat(new JsonObject(restarted.get("/api/history/" + session)).getJsonArray("messages"))
            .as("the history of %s", session).isEqualTo(historiesBefore.get(session));
      }
      assertThat(awaitList(restarted, "dora", 2, 4)).isEqualTo(listBefore);
      try (TestSocket socket = TestSocket.connect(vertx, restarted.httpPort, "session_id=kept-1&user_id=dora",
          new ChatFollower())) {
        socket.next();
        socket.send(message("and it goes on"));
        assertThat(socket.until("complete").getString("status")).isEqualTo("completed");
      }
      assertThat(new JsonObject(restarted.get("/api/history/kept-1")).getJsonArray("messages")).hasSize(6);
    }
  }

  /** The user's conversation list once it shows {@code conversations}, each with {@code messages} and none streaming. */
  private static JsonArray awaitList(NodeProcess node, String user, int conversations, int messages) throws Exception {
    long deadline = System.currentTimeMillis() + 15_000;
    while (true) {
      JsonArray list = new JsonObject(node.get("/api/sessions?user_id=" + user)).getJsonArray("sessions");
      if (list.size() == conversations && list.stream().map(JsonObject.class::cast)
          .allMatch(e -> e.getInteger("message_count") == messages && !e.getBoolean("streaming"))) {
        return list;
      }
      assertThat(System.currentTimeMillis()).as("the list of %s: %s", user, list).isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  @Test
  void everyStoredEventIsInTheAuditLogOnceThroughKafkaPausedAndRestartedAndAnOwnerKilled() throws Exception {
    try (KafkaProcess kafka = KafkaProcess.start()) {
      Map<String, String> audited = Map.of("CHAT_KAFKA_BOOTSTRAP", kafka.bootstrap(),
          "CHAT_KAFKA_DELIVERY_TIMEOUT_MS", "8000");
      List<NodeProcess> cluster = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        cluster.add(startNode(ALL, audited));
      }
      for (NodeProcess node : cluster) {
        node.awaitReady(3, Duration.ofSeconds(60));
      }
      String session = "audited";
      ChatFollower ownerTab = new ChatFollower();
      ChatFollower otherTab = new ChatFollower();
      List<TestSocket> tabs = new ArrayList<>(List.of(follow(cluster.get(0), session, ownerTab),
          follow(cluster.get(1), session, otherTab)));
      try {
        tabs.forEach(TestSocket::next);
        ai.script(Script.tokens(20, 5));
        tabs.get(1).send(StreamingProtocolTest.message("before anything happens", "q-1"));
        awaitAnswers(tabs, 1, cluster.get(1), session, otherTab, 1);

        ai.script(Script.tokens(100, 20));
        tabs.get(1).send(StreamingProtocolTest.message("while Kafka is paused", "q-2"));
        tabs.get(1).until(f -> "chunk".equals(f.getString("type")), Duration.ofSeconds(10));
        kafka.pause();
        long pausedAt = System.currentTimeMillis();
        awaitAnswers(tabs, 1, cluster.get(1), session, otherTab, 2);
        assertThat(System.currentTimeMillis() - pausedAt).as("live delivery does not wait for Kafka").isLessThan(10_000);
        Thread.sleep(Math.max(0, 10_000 - (System.currentTimeMillis() - pausedAt)));
        kafka.resume();

        JsonObject whileStopped = StreamingProtocolTest.message("while Kafka is stopped", "q-3");
        tabs.get(1).send(whileStopped);
        tabs.get(1).until(f -> "chunk".equals(f.getString("type")), Duration.ofSeconds(10));
        kafka.stop();
        awaitAnswers(tabs, 1, cluster.get(1), session, otherTab, 3, whileStopped);
        Thread.sleep(10_000);
        kafka.startAgain();

        JsonObject whileKilled = StreamingProtocolTest.message("while its owner is killed", "q-4");
        tabs.get(1).send(whileKilled);
        tabs.get(1).until(f -> "chunk".equals(f.getString("type")), Duration.ofSeconds(10));
        cluster.get(0).kill();
        awaitAnswers(tabs, 1, cluster.get(1), session, otherTab, 4, whileKilled);

        // An HTTP message on the third node, a cancel, a provider failure.
        ai.script(Script.tokens(400, 10));
        HttpResponse<String> sent = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + cluster.get(2).httpPort + "/api/chat"))
            .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(new JsonObject()
                .put("session_id", session).put("message", "over HTTP, then cancelled").encode())).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(sent.statusCode()).isEqualTo(202);
        String cancelled = new JsonObject(sent.body()).getString("reply_message_id");
        tabs.get(1).until(f -> "chunk".equals(f.getString("type")) && cancelled.equals(f.getString("message_id")),
            Duration.ofSeconds(10));
        tabs.get(1).send(new JsonObject().put("type", "cancel").put("message_id", cancelled));
        awaitAnswers(tabs, 1, cluster.get(1), session, otherTab, 5);
        ai.script(Script.tokens(5, 2).withStatus(500));
        JsonObject failing = StreamingProtocolTest.message("this one fails", "q-6");
        tabs.get(1).send(failing);
        awaitAnswers(tabs, 1, cluster.get(1), session, otherTab, 6, failing);
        assertThat(otherTab.violations()).isEmpty();
        assertThat(otherTab.messages().values().stream().map(m -> m.status).toList())
            .contains("cancelled", "failed");
      } finally {
        tabs.forEach(TestSocket::close);
      }

      // The tab saw the last event before its owner stored it.
      List<JsonObject> stored = StoredLog.readThrough(vertx, redis.url(), session, otherTab.seq());
      long lastSeq = stored.get(stored.size() - 1).getLong("seq");
      long waitFrom = System.currentTimeMillis();
      List<AuditTopic.AuditEntry> records = AuditLogTest.awaitAudited(kafka.bootstrap(), session, lastSeq);
      System.out.printf("AUDIT %d stored events in the topic once, %d ms after the last answer ended%n",
          records.size(), System.currentTimeMillis() - waitFrom);
      AuditLogTest.assertExactlyTheStoredLog(stored, records, session, null);
      assertThat(records.stream().map(r -> r.value().getString("epoch")).distinct())
          .as("the epoch changed when the owner died").hasSize(2);
    }
  }

  @Test
  void aNodeThatWakesFromALongPauseJoinsAgainAndEveryTabOnEveryNodeGetsTheNextAnswer() throws Exception {
    List<NodeProcess> cluster = youngestFirst(startCluster(ALL, ALL, ALL));
    NodeProcess sleeper = cluster.get(0);
    assertThat(sleeper).isSameAs(nodes.get(nodes.size() - 1));
    ai.script(Script.tokens(30, 20));
    String session = "split";
    List<ChatFollower> followers = List.of(new ChatFollower(), new ChatFollower(), new ChatFollower());
    List<TestSocket> tabs = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        tabs.add(follow(cluster.get(i), session, followers.get(i)));
        tabs.get(i).next();
      }
      tabs.get(1).send(message("before the pause"));
      for (TestSocket tab : tabs) {
        tab.takeUntil("complete");
      }

      sleeper.pause();
      for (int i = 1; i < 3; i++) {
        tabs.get(i).until(f -> "recovery_status".equals(f.getString("type")), Duration.ofSeconds(30));
      }
      JsonObject whileItSleeps = StreamingProtocolTest.message("while it sleeps", "q-2");
      tabs.get(1).send(whileItSleeps);
      // While a member hangs, the healthy ones sometimes split from each other too and merge again
      // (README, "Known weakness"): the answer may then take until the merge, up to ~40 s here.
      awaitAnswers(tabs, 1, cluster.get(1), session, followers.get(1), 2, whileItSleeps, Duration.ofSeconds(75));
      // The other tab's node may be the one that split off: it has the answer once that merge is over.
      awaitAnswers(tabs, 2, cluster.get(2), session, followers.get(2), 2, null, Duration.ofSeconds(75));
      Thread.sleep(20_000);
      long wokeAt = System.currentTimeMillis();
      sleeper.resume();

      assertThat(tabs.get(0).awaitClose(Duration.ofSeconds(30))).as("the woken node closes its sockets to rejoin")
          .isEqualTo((short) 1012);
      tabs.get(0).close();
      for (NodeProcess node : cluster) {
        node.awaitReady(3, Duration.ofSeconds(60));
      }
      System.out.printf("SPLIT SIGSTOP 20 s -> the woken node is one cluster with the others again after %d ms%n",
          System.currentTimeMillis() - wokeAt);
      // Every tab whose node closed it (the woken node, or another that Hazelcast merged after a
      // split of its own while the master was stopped) reconnects with its cursor, as clients do.
      for (int i = 0; i < 3; i++) {
        if (tabs.get(i).isClosed()) {
          tabs.get(i).close();
          tabs.set(i, follow(cluster.get(i), session, followers.get(i)));
          tabs.get(i).until(f -> "recovery_status".equals(f.getString("type")), Duration.ofSeconds(10));
        }
      }
      JsonObject afterItWoke = StreamingProtocolTest.message("after it woke", "q-3");
      tabs.get(2).send(afterItWoke);
      // A healthy member that split from the others while the master hung may merge back only now,
      // rejoining as a new member (README, "Known weakness"): the answer may wait for that too.
      awaitAnswers(tabs, 2, cluster.get(2), session, followers.get(2), 3, afterItWoke, Duration.ofSeconds(75));
      for (int i = 0; i < 2; i++) {
        awaitAnswers(tabs, i, cluster.get(i), session, followers.get(i), 3, null, Duration.ofSeconds(75));
      }
    } finally {
      tabs.forEach(TestSocket::close);
    }
    for (ChatFollower follower : followers) {
      assertThat(follower.violations()).isEmpty();
      assertThat(follower.messages().values().stream().filter(m -> m.role.equals("assistant")).toList())
          .as("every tab has the three answers, complete").hasSize(3)
          .allSatisfy(m -> assertThat(m.content.toString()).isEqualTo(StreamingProtocolTest.expectedAnswer(30)));
    }
    Redis client = Redis.createClient(vertx, redis.url());
    try {
      Response claims = RedisAPI.api(client).hget("chat:{" + session + "}:meta", "claims").await();
      // A healthy member that split from the others while one hung merges back as a new member
      // (README, "Known weakness"). The session may then be claimed twice more: by the side of the
      // split that kept being asked for it, and again once the sides are one cluster.
      // While the healthy sides are split, each takes the session from the other in turn, each time
      // after a longer wait, and logs the loss.
      long healthyMerges = 0;
      long healthyLosses = 0;
      for (NodeProcess healthy : cluster.subList(1, cluster.size())) {
        String log = Files.readString(healthy.log);
        healthyMerges += log.contains("it was split from the cluster and merged back") ? 1 : 0;
        healthyLosses += log.lines().filter(line -> line.contains("Session " + session + " is owned elsewhere now")).count();
      }
      assertThat(Files.readString(sleeper.log)).as("the woken node held its activations")
          .contains("it takes no session any more");
      assertThat(claims.toLong()).as("claims: the first owner, then one node of the others (twice more per healthy "
          + "member merged back, %d here, and once more per session a healthy member lost to the other side of a "
          + "split, %d here); none by the woken node", healthyMerges, healthyLosses)
          .isBetween(2L, 2L + 2 * healthyMerges + healthyLosses);
    } finally {
      client.close();
    }
  }

  @Test
  void withAQuorumAMemberLeftAloneClaimsNoSessionUntilAMajoritySeesItAgain() throws Exception {
    Map<String, String> quorum = Map.of("CHAT_CLUSTER_QUORUM", "2");
    NodeProcess survivor = startNode(ALL, quorum).awaitReady(1, Duration.ofSeconds(60));
    List<NodeProcess> others = List.of(startNode(ALL, quorum), startNode(ALL, quorum));
    for (NodeProcess node : others) {
      node.awaitReady(3, Duration.ofSeconds(60));
    }
    ai.script(Script.tokens(5, 10));
    try (TestSocket socket = follow(survivor, "quorum-whole", new ChatFollower())) {
      socket.next();
      socket.send(message("while the cluster is whole"));
      assertThat(socket.until("complete").getString("status")).isEqualTo("completed");
    }
    for (NodeProcess node : others) {
      node.kill();
    }
    survivor.awaitReady(1, Duration.ofSeconds(60));
    try (TestSocket socket = follow(survivor, "quorum-alone", new ChatFollower())) {
      assertThat(socket.awaitClose(Duration.ofSeconds(60))).as("no lease below the quorum: nobody owns the session")
          .isEqualTo(ErrorCode.UNAVAILABLE.closeCode());
    }
    Redis client = Redis.createClient(vertx, redis.url());
    try {
      assertThat(RedisAPI.api(client).exists(List.of("chat:{quorum-alone}:meta")).await().toInteger())
          .as("the session was never claimed").isZero();
    } finally {
      client.close();
    }

    startNode(ALL, quorum).awaitReady(2, Duration.ofSeconds(60));
    survivor.awaitReady(2, Duration.ofSeconds(60));
    ChatFollower follower = new ChatFollower();
    try (TestSocket socket = follow(survivor, "quorum-alone", follower)) {
      socket.next();
      socket.send(message("with a majority again"));
      assertThat(socket.until("complete").getString("status")).isEqualTo("completed");
    }
    assertThat(follower.lastAnswer().content.toString()).isEqualTo(StreamingProtocolTest.expectedAnswer(5));
  }

  @Test
  void aRollingRestartRefusesNoMessageAndLosesNoWord() throws Exception {
    List<NodeProcess> live = new java.util.concurrent.CopyOnWriteArrayList<>(startCluster(ALL, ALL, ALL));
    ai.script(Script.tokens(20, 10));
    int clients = 30;
    java.util.concurrent.atomic.AtomicBoolean rolling = new java.util.concurrent.atomic.AtomicBoolean(true);
    List<String> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<ChatFollower> followers = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    List<Future<Integer>> asked = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      ChatFollower follower = new ChatFollower();
      followers.add(follower);
      String session = "roll-" + c;
      asked.add(pool.submit(() -> BackToBackClient.ask(() -> connectToAnyLive(live, session, follower), session,
          follower, rolling, errors)));
    }
    Thread.sleep(2000);
    for (int round = 0; round < 3; round++) {
      // Like a load balancer without draining: clients may still reach the leaving node until it has exited.
      NodeProcess leaving = live.get(0);
      assertThat(leaving.terminate(Duration.ofSeconds(60))).as("node exits on SIGTERM").isTrue();
      live.remove(leaving);
      NodeProcess fresh = startNode(ALL);
      for (NodeProcess node : live) {
        node.awaitReady(3, Duration.ofSeconds(60));
      }
      fresh.awaitReady(3, Duration.ofSeconds(60));
      live.add(fresh);
      Thread.sleep(1000);
    }
    rolling.set(false);
    int total = 0;
    for (Future<Integer> count : asked) {
      total += count.get(60, java.util.concurrent.TimeUnit.SECONDS);
    }
    pool.shutdownNow();
    System.out.printf("ROLLING RESTART of 3 nodes: %d clients asked %d questions back to back, %d errors%n",
        clients, total, errors.size());
    assertThat(errors).as("error frames during the rolling restart").isEmpty();
    for (ChatFollower follower : followers) {
      assertThat(follower.violations()).isEmpty();
      assertThat(follower.messages().values()).filteredOn(m -> m.role.equals("assistant"))
          .allSatisfy(m -> {
            assertThat(m.status).isEqualTo("completed");
            assertThat(m.content.toString()).isEqualTo(StreamingProtocolTest.expectedAnswer(20));
          });
    }
  }

  private static TestSocket connectToAnyLive(List<NodeProcess> live, String session, ChatFollower follower)
      throws InterruptedException {
    return connectRetrying(() -> {
      List<NodeProcess> nodes = new ArrayList<>(live);
      return nodes.get(java.util.concurrent.ThreadLocalRandom.current().nextInt(nodes.size()));
    }, session, follower);
  }

  @Test
  void sigtermOfANodeUnderLoadCompletesEveryAnswer() throws Exception {
    List<NodeProcess> cluster = startCluster(ALL, ALL, ALL);
    NodeProcess leaving = cluster.get(0);
    ai.script(Script.tokens(100, 20));
    int sessions = 30;
    List<ChatFollower> followers = new ArrayList<>();
    List<TestSocket> sockets = new ArrayList<>();
    for (int s = 0; s < sessions; s++) {
      ChatFollower follower = new ChatFollower();
      TestSocket socket = follow(leaving, "drain-" + s, follower);
      socket.next();
      socket.send(message("question " + s));
      followers.add(follower);
      sockets.add(socket);
    }
    Thread.sleep(700);
    CompletableFuture<Boolean> exited = CompletableFuture.supplyAsync(() -> {
      try {
        return leaving.terminate(Duration.ofSeconds(60));
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    for (int s = 0; s < sessions; s++) {
      TestSocket socket = sockets.get(s);
      assertThat(socket.awaitClose(Duration.ofSeconds(10))).isEqualTo((short) 1012);
      while (socket.poll(Duration.ofMillis(1)) != null) {
        // frames already received before the close still count
      }
      socket.close();
    }
    for (int s = 0; s < sessions; s++) {
      ChatFollower follower = followers.get(s);
      String epoch = follower.epoch();
      try (TestSocket socket = follow(cluster.get(1 + s % 2), "drain-" + s, follower)) {
        JsonObject status = socket.next();
        assertThat(status.getString("status")).as("graceful hand-off keeps the epoch").isEqualTo("recovered");
        while (!"completed".equals(follower.lastAnswer().status)) {
          socket.next();
        }
      }
      assertThat(follower.epoch()).isEqualTo(epoch);
      assertThat(follower.violations()).isEmpty();
      assertThat(follower.lastAnswer().content.toString()).isEqualTo(StreamingProtocolTest.expectedAnswer(100));
    }
    assertThat(exited.get()).as("the node exits by itself").isTrue();
  }
}
