package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamchat.testkit.ChatFollower;
import io.streamchat.testkit.FakeOpenAi;
import io.streamchat.testkit.FakeOpenAi.Script;
import io.streamchat.testkit.PrometheusText;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The WebSocket protocol on one real node with real Redis and a real OpenAI-compatible HTTP server. */
class StreamingProtocolTest {

  @RegisterExtension
  static final TestNode node = TestNode.perClass(new JsonObject());

  static String expectedAnswer(int tokens) {
    return IntStream.range(0, tokens).mapToObj(FakeOpenAi::token).collect(Collectors.joining());
  }

  static JsonObject message(String content, String clientMessageId) {
    JsonObject frame = new JsonObject().put("type", "message").put("content", content);
    return clientMessageId == null ? frame : frame.put("client_message_id", clientMessageId);
  }

  @Test
  void answerStreamsWithContiguousSeqAndIndexAndHistoryAgrees() throws Exception {
    node.ai.script(Script.tokens(40, 2));
    ChatFollower follower = new ChatFollower();
    try (TestSocket socket = node.connect("session_id=stream-basic", follower)) {
      JsonObject history = socket.next();
      assertThat(history.getString("type")).isEqualTo("history");
      assertThat(history.getLong("seq")).isZero();
      assertThat(history.getJsonArray("messages")).isEmpty();

      socket.send(message("hello", "c-1"));
      List<JsonObject> events = socket.takeUntil("complete");
      assertThat(events).extracting(e -> e.getLong("seq"))
          .containsExactlyElementsOf(IntStream.rangeClosed(1, 43).mapToObj(i -> (long) i).toList());
      assertThat(events.get(0).getString("type")).isEqualTo("user_message");
      assertThat(events.get(0).getString("client_message_id")).isEqualTo("c-1");
      assertThat(events.get(1).getString("type")).isEqualTo("stream_start");
      assertThat(events.get(1).getString("reply_to")).isEqualTo(events.get(0).getString("message_id"));
      List<JsonObject> chunks = events.subList(2, 42);
      assertThat(chunks).extracting(c -> c.getInteger("index")).containsExactlyElementsOf(IntStream.range(0, 40).boxed().toList());
      JsonObject complete = events.get(42);
      assertThat(complete.getString("status")).isEqualTo("completed");
      assertThat(complete.getInteger("total_chunks")).isEqualTo(40);
      assertThat(complete.getString("content"))
          .isEqualTo(chunks.stream().map(c -> c.getString("content")).collect(Collectors.joining()))
          .isEqualTo(expectedAnswer(40));
      assertThat(follower.violations()).isEmpty();

      JsonObject stored = node.history("stream-basic");
      assertThat(stored.getLong("seq")).isEqualTo(43);
      JsonArray messages = stored.getJsonArray("messages");
      assertThat(messages).hasSize(2);
      assertThat(messages.getJsonObject(0).getString("content")).isEqualTo("hello");
      assertThat(messages.getJsonObject(0).getString("client_message_id")).isEqualTo("c-1");
      assertThat(messages.getJsonObject(1).getString("content")).isEqualTo(expectedAnswer(40));
      assertThat(messages.getJsonObject(1).getString("status")).isEqualTo("completed");
      assertThat(messages.getJsonObject(1).getInteger("total_chunks")).isEqualTo(40);
      assertThat(node.ai.requests().get(node.ai.requests().size() - 1).getJsonArray("messages").getJsonObject(0)
          .getString("content")).isEqualTo("hello");
    }
  }

  @Test
  void resumeAfterDropAtFiftyRandomPointsIsExact() throws Exception {
    int tokens = 150;
    node.ai.script(Script.tokens(tokens, 2));
    java.util.Random random = new java.util.Random(42);
    ChatFollower follower = new ChatFollower();
    String session = "resume-drops";
    int recovered = 0;
    int answersAsked = 0;
    for (int drop = 0; drop < 50; drop++) {
      try (TestSocket socket = node.follow(session, follower)) {
        JsonObject first = socket.next();
        if (drop > 0) {
          assertThat(first.getString("type")).isEqualTo("recovery_status");
          assertThat(first.getString("status")).isEqualTo("recovered");
          recovered++;
        }
        boolean streaming = follower.messages().values().stream().anyMatch(m -> "streaming".equals(m.status));
        if (!streaming) {
          socket.send(message("question " + drop, "q-" + drop));
          answersAsked++;
        }
        int frames = random.nextInt(60);
        for (int i = 0; i < frames && socket.poll(Duration.ofMillis(200)) != null; i++) {
          // read a random number of frames, then drop mid-stream
        }
      }
      if (random.nextInt(4) == 0) {
        Thread.sleep(400); // long enough for the answer to complete while nobody is connected
      }
    }
    try (TestSocket socket = node.follow(session, follower)) {
      socket.until(f -> "complete".equals(f.getString("type"))
          || follower.messages().values().stream().noneMatch(m -> "streaming".equals(m.status)), Duration.ofSeconds(20));
      while (follower.messages().values().stream().anyMatch(m -> "streaming".equals(m.status))) {
        socket.until("complete");
      }
    }
    assertThat(follower.violations()).isEmpty();
    assertThat(recovered).isEqualTo(49);
    JsonObject history = node.history(session);
    assertThat(follower.seq()).isEqualTo(history.getLong("seq"));
    JsonArray messages = history.getJsonArray("messages");
    assertThat(follower.messages()).hasSize(messages.size()).hasSize(answersAsked * 2);
    int i = 0;
    for (ChatFollower.Message message : follower.messages().values()) {
      JsonObject stored = messages.getJsonObject(i++);
      assertThat(message.id).isEqualTo(stored.getString("message_id"));
      assertThat(message.content.toString()).isEqualTo(stored.getString("content"));
      assertThat(message.status).isEqualTo(stored.getString("status"));
      if ("assistant".equals(message.role)) {
        assertThat(message.content.toString()).isEqualTo(expectedAnswer(tokens));
        assertThat(message.status).isEqualTo("completed");
      }
    }
  }

  @Test
  void cursorOfAnotherEpochOrAheadOfTheLogGetsResetThenHistory() throws Exception {
    node.ai.script(Script.tokens(5, 1));
    try (TestSocket socket = node.connect("session_id=epochs")) {
      socket.next();
      socket.send(message("hi", null));
      socket.until("complete");
    }
    JsonObject stored = node.history("epochs");
    for (String cursor : List.of("last_seq=3&epoch=not-the-epoch", "last_seq=9999&epoch=" + stored.getString("epoch"))) {
      try (TestSocket socket = node.connect("session_id=epochs&" + cursor)) {
        JsonObject status = socket.next();
        assertThat(status.getString("type")).isEqualTo("recovery_status");
        assertThat(status.getString("status")).isEqualTo("reset");
        assertThat(status.getLong("seq")).isEqualTo(stored.getLong("seq"));
        JsonObject history = socket.next();
        assertThat(history.getString("type")).isEqualTo("history");
        assertThat(history.getString("epoch")).isEqualTo(stored.getString("epoch"));
        assertThat(history.getLong("seq")).isEqualTo(stored.getLong("seq"));
        assertThat(history.getJsonArray("messages")).isEqualTo(stored.getJsonArray("messages"));
      }
    }
    try (TestSocket socket = node.connect("session_id=epochs&last_seq=2&epoch=" + stored.getString("epoch"))) {
      JsonObject status = socket.next();
      assertThat(status.getString("status")).isEqualTo("recovered");
      assertThat(status.getLong("seq")).isEqualTo(stored.getLong("seq"));
      assertThat(status.getInteger("chunks_recovered")).isEqualTo(5);
      assertThat(socket.next().getLong("seq")).isEqualTo(3);
    }
    for (String badSeq : List.of("abc", "%2B3", "-1", "1.5")) {
      assertThatThrownBy(() -> node.connect("session_id=epochs&last_seq=" + badSeq + "&epoch=x")).as(badSeq)
          .satisfies(e -> assertThat(rootStatus(e)).isEqualTo(400));
    }
    assertThatThrownBy(() -> node.connect("session_id=bad%20id"))
        .satisfies(e -> assertThat(rootStatus(e)).isEqualTo(400));
    HttpResponse<String> plain = node.get("/ws/chat?session_id=epochs");
    assertThat(plain.statusCode()).as("no upgrade asked for").isEqualTo(400);
    assertThat(new JsonObject(plain.body()).getJsonObject("error").getString("code")).isEqualTo("bad_request");
  }

  private static int rootStatus(Throwable e) {
    Throwable cause = e;
    while (!(cause instanceof UpgradeRejectedException) && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return ((UpgradeRejectedException) cause).getStatus();
  }

  @Test
  void compatReconnectResendsChunksAfterTheIndexWithTheirSeq() {
    node.ai.script(Script.tokens(12, 1));
    try (TestSocket socket = node.connect("session_id=compat")) {
      socket.next();
      socket.send(message("hi", null));
      List<JsonObject> events = socket.takeUntil("complete");
      JsonObject complete = events.get(events.size() - 1);
      String messageId = complete.getString("message_id");
      socket.send(new JsonObject().put("type", "reconnect").put("messageId", messageId).put("lastChunkIndex", 8));
      List<JsonObject> resent = socket.takeUntil("recovery_status");
      assertThat(resent).extracting(f -> f.getString("type")).containsExactly("chunk", "chunk", "chunk", "complete", "recovery_status");
      assertThat(resent.subList(0, 3)).extracting(f -> f.getInteger("index")).containsExactly(9, 10, 11);
      assertThat(resent.subList(0, 4)).isEqualTo(events.subList(events.size() - 4, events.size()));
      JsonObject status = resent.get(4);
      assertThat(status.getString("status")).isEqualTo("complete");
      assertThat(status.getString("message_id")).isEqualTo(messageId);
      assertThat(status.getInteger("chunks_recovered")).isEqualTo(3);

      socket.send(new JsonObject().put("type", "reconnect").put("message_id", "nope").put("last_chunk_index", 0));
      JsonObject missing = socket.until("recovery_status");
      assertThat(missing.getString("status")).isEqualTo("not_found");
    }
  }

  @Test
  void rapidCancelsAreIdempotentAndEndTheUpstreamRequest() throws Exception {
    node.ai.script(Script.tokens(2000, 10));
    int closedBefore = node.ai.closedEarly();
    try (TestSocket socket = node.connect("session_id=cancels")) {
      socket.next();
      socket.send(message("long one", null));
      String messageId = socket.until("stream_start").getString("message_id");
      socket.until("chunk");
      // More than the frames a connection may have waiting (CHAT_WS_MAX_QUEUED_COMMANDS): every cancel is acknowledged.
      int cancels = 200;
      for (int i = 0; i < cancels; i++) {
        socket.send(new JsonObject().put("type", "cancel").put("message_id", messageId));
      }
      List<JsonObject> frames = new java.util.ArrayList<>();
      while (frames.stream().filter(f -> "cancel_ack".equals(f.getString("type"))).count() < cancels) {
        frames.add(socket.next());
        assertThat(frames.get(frames.size() - 1).getString("type")).isNotEqualTo("error");
      }
      List<JsonObject> acks = frames.stream().filter(f -> "cancel_ack".equals(f.getString("type"))).toList();
      assertThat(acks.get(0).getString("status")).isEqualTo("cancelling");
      int total = acks.get(0).getInteger("total_chunks");
      assertThat(acks.subList(1, cancels)).allSatisfy(ack -> {
        assertThat(ack.getString("status")).isEqualTo("already_cancelled");
        assertThat(ack.getInteger("total_chunks")).isEqualTo(total);
      });
      int ackAt = frames.indexOf(acks.get(0));
      assertThat(frames.subList(ackAt + 1, frames.size())).noneMatch(f -> "chunk".equals(f.getString("type")));
      JsonObject complete = frames.get(ackAt + 1);
      assertThat(complete.getString("type")).isEqualTo("complete");
      assertThat(complete.getString("status")).isEqualTo("cancelled");
      assertThat(complete.getInteger("total_chunks")).isEqualTo(total);
      assertThat(frames).noneMatch(f -> "error".equals(f.getString("type")));
      for (int i = 0; i < cancels; i++) {
        socket.send("{\"type\":\"cancel\",\"message_id\":null}");
      }
      for (int i = 0; i < cancels; i++) {
        JsonObject ack = socket.next();
        assertThat(ack.getString("type")).isEqualTo("cancel_ack");
        assertThat(ack.getString("status")).as("nothing streams").isEqualTo("not_found");
      }
      long deadline = System.currentTimeMillis() + 1000;
      while (node.ai.closedEarly() == closedBefore && System.currentTimeMillis() < deadline) {
        Thread.sleep(10);
      }
      assertThat(node.ai.closedEarly()).as("upstream request closed within a second").isGreaterThan(closedBefore);

      node.ai.script(Script.tokens(3, 1));
      socket.send(message("short", null));
      String done = socket.until("complete").getString("message_id");
      socket.send(new JsonObject().put("type", "cancel").put("message_id", done));
      assertThat(socket.until("cancel_ack").getString("status")).isEqualTo("already_completed");
      socket.send(new JsonObject().put("type", "cancel").put("message_id", "unknown"));
      assertThat(socket.until("cancel_ack").getString("status")).isEqualTo("not_found");
    }
  }

  @Test
  void anAnswerWhoseSocketsAllClosedGoesOnToItsEnd() throws Exception {
    node.ai.script(Script.tokens(40, 20));
    String answer;
    try (TestSocket first = node.connect("session_id=unattended");
         TestSocket second = node.connect("session_id=unattended")) {
      first.next();
      second.next();
      first.send(message("go on without me", null));
      answer = second.until("stream_start").getString("message_id");
      second.until("chunk");
    }
    long deadline = System.currentTimeMillis() + 10_000;
    JsonObject stored;
    do {
      Thread.sleep(100);
      JsonArray messages = node.history("unattended").getJsonArray("messages");
      stored = messages.getJsonObject(messages.size() - 1);
    } while (!"completed".equals(stored.getString("status")) && System.currentTimeMillis() < deadline);
    assertThat(stored.getString("message_id")).isEqualTo(answer);
    assertThat(stored.getString("status")).as("nobody was connected; only cancel stops an answer").isEqualTo("completed");
    assertThat(stored.getString("content")).isEqualTo(expectedAnswer(40));
  }

  @Test
  void theOwnersFirstFrameComesBeforeAnyReplyToFramesSentAtOnce() {
    for (String cursor : new String[] {"", "&last_seq=0&epoch=none"}) {
      for (int i = 0; i < 5; i++) {
        try (TestSocket socket = node.connect("session_id=greeted-" + i + (cursor.isEmpty() ? "" : "-c") + cursor)) {
          socket.send("{\"type\":\"ping\"}");
          socket.send("{\"type\":\"heartbeat\"}");
          socket.send("{\"type\":\"nonsense\"}");
          assertThat(socket.next().getString("type")).as("first frame, cursor '%s'", cursor)
              .isEqualTo(cursor.isEmpty() ? "history" : "recovery_status");
          assertThat(socket.until("pong")).isNotNull();
          assertThat(socket.until("heartbeat_ack")).isNotNull();
          assertThat(socket.until("error").getString("code")).isEqualTo("bad_request");
        }
      }
    }
  }

  @Test
  void heartbeatsAndPingsFloodedDuringAStreamAllGetWholeAcks() throws Exception {
    node.ai.script(Script.tokens(300, 1));
    ChatFollower follower = new ChatFollower();
    try (TestSocket socket = node.connect("session_id=flood", follower)) {
      socket.next();
      socket.send(message("go", null));
      for (int i = 0; i < 300; i++) {
        socket.send(i % 2 == 0 ? "{\"type\":\"heartbeat\"}" : "{\"type\":\"ping\"}");
      }
      int heartbeats = 0;
      int pongs = 0;
      boolean complete = false;
      while (!complete || heartbeats + pongs < 300) {
        JsonObject frame = socket.next();
        switch (frame.getString("type")) {
          case "heartbeat_ack" -> heartbeats++;
          case "pong" -> pongs++;
          case "complete" -> complete = true;
          default -> { }
        }
      }
      assertThat(heartbeats).isEqualTo(150);
      assertThat(pongs).isEqualTo(150);
      String metrics = node.get("/metrics").body();
      assertThat(metrics).contains("chat_connection_writes_off_event_loop_total");
      assertThat(PrometheusText.parse(metrics).sum("chat_connection_writes_off_event_loop_total"))
          .as("every frame, the owner's and the gateway's own, written by the connection's event loop").isZero();
      assertThat(socket.malformed()).isEmpty();
      assertThat(follower.violations()).isEmpty();
      assertThat(follower.messages().values().stream().filter(m -> m.role.equals("assistant")).findFirst().orElseThrow()
          .content.toString()).isEqualTo(expectedAnswer(300));
    }
  }

  @Test
  void badFramesGetErrorsWhileTheConnectionAndOtherSessionsCarryOn() throws Exception {
    node.ai.script(Script.tokens(200, 2));
    ChatFollower other = new ChatFollower();
    try (TestSocket bystander = node.connect("session_id=bystander", other);
         TestSocket socket = node.connect("session_id=bad-frames")) {
      bystander.next();
      bystander.send(message("keep streaming", null));
      socket.next();
      List<String> bad = List.of("not json", "[1,2]", "\"text\"", "{\"type\":\"nope\"}", "{\"type\":7}", "{}",
          "{\"type\":\"message\",\"content\":5}", "{\"type\":\"message\"}", "{\"type\":\"message\",\"content\":\"\"}",
          "{\"type\":\"cancel\",\"message_id\":7}", "{\"type\":\"reconnect\",\"message_id\":\"m\",\"last_chunk_index\":\"x\"}",
          "{\"type\":\"message\",\"content\":\"x\",\"client_message_id\":\"bad id!\"}");
      for (String frame : bad) {
        socket.send(frame);
        JsonObject error = socket.next();
        assertThat(error.getString("type")).as(frame).isEqualTo("error");
        assertThat(error.getString("code")).as(frame).isEqualTo("bad_request");
        assertThat(error.getString("message")).isNotBlank();
      }
      socket.sendBinary(Buffer.buffer("binary"));
      assertThat(socket.next().getString("code")).isEqualTo("bad_request");
      socket.send(message("x".repeat(32_001), null));
      JsonObject tooLarge = socket.next();
      assertThat(tooLarge.getString("code")).isEqualTo("too_large");
      assertThat(tooLarge.getString("ref")).isEqualTo("message");

      socket.send("{\"type\":\"ping\"}");
      assertThat(socket.next().getString("type")).isEqualTo("pong");
      node.ai.script(Script.tokens(3, 1));
      socket.send(message("still works", null));
      assertThat(socket.until("complete").getString("status")).isEqualTo("completed");

      socket.send("{\"type\":\"message\",\"content\":\"" + "y".repeat(70_000) + "\"}");
      assertThat(socket.awaitClose(Duration.ofSeconds(5))).isEqualTo((short) 1009);

      bystander.until("complete");
      assertThat(other.violations()).isEmpty();
      assertThat(node.history("bad-frames").getJsonArray("messages")).hasSize(2);
    }
  }

  @Test
  void repeatedClientMessageIdIsNotAppendedTwiceAndANewMessageWhileStreamingIsBusy() throws Exception {
    node.ai.script(Script.tokens(100, 5));
    try (TestSocket socket = node.connect("session_id=idempotent")) {
      socket.next();
      socket.send(message("once", "c-9"));
      socket.until("chunk");
      socket.send(message("once", "c-9"));
      socket.send(message("another", "c-10"));
      JsonObject busy = socket.until("error");
      assertThat(busy.getString("code")).isEqualTo("busy");
      assertThat(busy.getString("ref")).isEqualTo("message");
      List<JsonObject> rest = socket.takeUntil("complete");
      assertThat(rest).noneMatch(f -> "user_message".equals(f.getString("type")) || "error".equals(f.getString("type")));
      socket.send(message("once", "c-9"));
      socket.send("{\"type\":\"ping\"}");
      assertThat(socket.next().getString("type")).isEqualTo("pong");
    }
    JsonArray messages = node.history("idempotent").getJsonArray("messages");
    assertThat(messages).hasSize(2);

    var first = node.post("/api/chat", "{\"session_id\":\"idempotent\",\"message\":\"over http\",\"client_message_id\":\"h-1\"}");
    assertThat(first.statusCode()).isEqualTo(202);
    var again = node.post("/api/chat", "{\"session_id\":\"idempotent\",\"message\":\"over http\",\"client_message_id\":\"h-1\"}");
    assertThat(again.statusCode()).isEqualTo(202);
    assertThat(new JsonObject(again.body())).isEqualTo(new JsonObject(first.body()));
  }

  @Test
  void httpApiSendsRecoversCancelsAndRefusesBadRequests() throws Exception {
    node.ai.script(Script.tokens(500, 10));
    var sent = node.post("/api/chat", "{\"session_id\":\"http-api\",\"message\":\"hello\",\"user_id\":\"u1\"}");
    assertThat(sent.statusCode()).isEqualTo(202);
    JsonObject ids = new JsonObject(sent.body());
    assertThat(ids.getString("session_id")).isEqualTo("http-api");
    String reply = ids.getString("reply_message_id");

    var busy = node.post("/chat", "{\"session_id\":\"http-api\",\"message\":\"again\"}");
    assertThat(busy.statusCode()).isEqualTo(409);
    assertThat(new JsonObject(busy.body()).getJsonObject("error").getString("code")).isEqualTo("busy");

    Thread.sleep(200);
    var recovered = node.post("/api/chat/recover", "{\"session_id\":\"http-api\",\"last_chunk_index\":1}");
    assertThat(recovered.statusCode()).isEqualTo(200);
    JsonObject recovery = new JsonObject(recovered.body());
    assertThat(recovery.getString("status")).isEqualTo("recovered");
    assertThat(recovery.getString("message_id")).isEqualTo(reply);
    assertThat(recovery.getJsonArray("chunks").getJsonObject(0).getInteger("index")).isEqualTo(2);

    var cancelled = node.post("/api/chat/cancel", "{\"session_id\":\"http-api\"}");
    assertThat(new JsonObject(cancelled.body()).getString("status")).isEqualTo("cancelling");
    var again = node.post("/api/chat/cancel", "{\"session_id\":\"http-api\",\"message_id\":\"" + reply + "\"}");
    assertThat(new JsonObject(again.body()).getString("status")).isEqualTo("already_cancelled");

    JsonObject history = new JsonObject(node.get("/history/http-api").body());
    assertThat(history.containsKey("type")).isFalse();
    JsonObject answer = history.getJsonArray("messages").getJsonObject(1);
    assertThat(answer.getString("status")).isEqualTo("cancelled");
    assertThat(answer.getString("content")).isEqualTo(expectedAnswer(answer.getInteger("total_chunks")));

    assertThat(node.post("/api/chat", "{not json").statusCode()).isEqualTo(400);
    assertThat(node.post("/api/chat", "{\"session_id\":\"bad id\",\"message\":\"x\"}").statusCode()).isEqualTo(400);
    assertThat(node.post("/api/chat", "{\"session_id\":\"s\",\"message\":3}").statusCode()).isEqualTo(400);
    assertThat(node.post("/api/chat", "{\"session_id\":\"s\",\"message\":\"" + "z".repeat(40_000) + "\"}").statusCode())
        .isEqualTo(413);
    var huge = node.post("/api/chat", "{\"session_id\":\"s\",\"message\":\"" + "z".repeat(1_100_000) + "\"}");
    assertThat(huge.statusCode()).isEqualTo(413);
    assertThat(new JsonObject(huge.body()).getJsonObject("error").getString("code")).isEqualTo("too_large");
    assertThat(node.get("/health/live").statusCode()).isEqualTo(200);
    assertThat(new JsonObject(node.get("/health/ready").body()).getString("node_id")).isEqualTo("test-node");
    assertThat(node.get("/metrics").body()).contains("chat_events_total");
  }

  @Test
  void everyEventGoesToChatEventsWithTheSessionAndItsUserFirst() throws Exception {
    node.ai.script(Script.tokens(3, 5));
    List<JsonObject> published = new java.util.concurrent.CopyOnWriteArrayList<>();
    io.vertx.core.eventbus.MessageConsumer<String> consumer = node.server.vertx().eventBus()
        .consumer(io.streamchat.protocol.Addresses.EVENTS, event -> {
          JsonObject json = new JsonObject(event.body());
          if ("published".equals(json.getString("session_id"))) {
            published.add(json);
          }
        });
    consumer.completion().await();
    try (TestSocket socket = node.connect("session_id=published&user_id=alice")) {
      socket.next();
      socket.send(new JsonObject().put("type", "message").put("content", "hi"));
      long last = socket.until("complete").getLong("seq");
      long deadline = System.nanoTime() + 5_000_000_000L;
      while (published.size() < last && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
    } finally {
      consumer.unregister().await();
    }
    assertThat(published).extracting(e -> e.getLong("seq")).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
    assertThat(published).allSatisfy(event -> {
      assertThat(event.fieldNames().stream().limit(3)).containsExactly("session_id", "user_id", "type");
      assertThat(event.getString("user_id")).isEqualTo("alice");
    });
    assertThat(published.get(5).getString("content")).isEqualTo(expectedAnswer(3));
  }

  @Test
  void aMessageOverTheUsersLimitIsRefusedRateLimitedBeforeAnythingIsAppended() throws Exception {
    node.ai.script(Script.tokens(400, 10));
    List<TestSocket> busy = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < 4; i++) {
        TestSocket socket = node.connect("session_id=heavy-" + i + "&user_id=heavy");
        busy.add(socket);
        socket.next();
        socket.send(message("long answer " + i, null));
        socket.until("stream_start");
      }
      try (TestSocket fifth = node.connect("session_id=heavy-4&user_id=heavy")) {
        fifth.next();
        fifth.send(message("one too many", null));
        JsonObject error = fifth.until("error");
        assertThat(error.getString("code")).isEqualTo("rate_limited");
        assertThat(error.getInteger("retry_after_ms")).isPositive();
        assertThat(error.getString("ref")).isEqualTo("message");
      }
      assertThat(node.history("heavy-4").getJsonArray("messages")).as("nothing appended").isEmpty();
      var http = node.post("/api/chat", new JsonObject().put("session_id", "heavy-5").put("user_id", "heavy")
          .put("message", "over HTTP").encode());
      assertThat(http.statusCode()).isEqualTo(429);
      assertThat(http.headers().firstValue("retry-after")).isPresent();
      assertThat(new JsonObject(http.body()).getJsonObject("error").getString("code")).isEqualTo("rate_limited");
    } finally {
      for (TestSocket socket : busy) {
        socket.send(new JsonObject().put("type", "cancel"));
        socket.close();
      }
    }
  }
}
