package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.testkit.FakeOpenAi.Script;
import io.streamchat.testkit.RawWebSocket;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Thousands of generated hostile frames on many sockets at once. Afterwards the server is healthy,
 * every frame it sent was a valid protocol frame, every close had a protocol close code, and the
 * histories recorded before are byte for byte what they were.
 */
class FuzzTest {

  private static final int SOCKETS = 12;
  private static final int FRAMES_PER_SOCKET = 400;
  private static final Set<String> SERVER_FRAME_TYPES = Set.of("history", "recovery_status", "user_message",
      "stream_start", "chunk", "complete", "cancel_ack", "heartbeat_ack", "pong", "auth_ack", "error");
  private static final Set<String> ERROR_CODES = Set.of("bad_request", "unauthorized", "forbidden", "not_found", "busy",
      "rate_limited", "too_large", "unavailable", "internal");
  private static final Set<Integer> CLOSE_CODES = Set.of(1000, 1002, 1007, 1008, 1009, 1013);
  private static final String[] FRAME_TYPES = {"message", "cancel", "reconnect", "heartbeat", "ping", "regenerate",
      "continue", "auth", "nope", ""};
  private static final String[] FIELDS = {"type", "content", "client_message_id", "message_id", "last_chunk_index",
      "messageId", "lastChunkIndex", "access_token"};
  private static final String REDIS = "*3\r\n$3\r\nDEL\r\n$11\r\nchat:{a}:log\r\n";

  @RegisterExtension
  static final TestNode node = TestNode.perClass(new JsonObject());

  @Test
  void hostileFramesLeaveTheServerHealthyAndStoredHistoriesUntouched() throws Exception {
    Map<String, String> before = new LinkedHashMap<>();
    for (int i = 0; i < 3; i++) {
      String session = "kept-" + i;
      node.ai.script(Script.tokens(20, 1));
      try (TestSocket socket = node.connect("session_id=" + session)) {
        socket.until("history");
        socket.send(new JsonObject().put("type", "message").put("content", "question " + i + " " + REDIS));
        socket.until("complete");
      }
      before.put(session, node.get("/api/history/" + session).body());
    }

    node.ai.script(Script.tokens(5, 1));
    ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
    AtomicInteger framesSent = new AtomicInteger();
    AtomicInteger framesReceived = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(SOCKETS);
    List<Future<?>> runs = new ArrayList<>();
    for (int s = 0; s < SOCKETS; s++) {
      int seed = s;
      runs.add(pool.submit(() -> {
        fuzz(new Random(seed), "fuzz-" + seed, violations, framesSent, framesReceived);
        return null;
      }));
    }
    for (Future<?> run : runs) {
      run.get(5, TimeUnit.MINUTES);
    }
    pool.shutdownNow();

    assertThat(violations).isEmpty();
    assertThat(framesSent.get()).isGreaterThanOrEqualTo(SOCKETS * FRAMES_PER_SOCKET);
    assertThat(framesReceived.get()).isPositive();
    assertThat(node.get("/health").statusCode()).isEqualTo(200);
    for (Map.Entry<String, String> kept : before.entrySet()) {
      assertThat(node.get("/api/history/" + kept.getKey()).body()).as(kept.getKey()).isEqualTo(kept.getValue());
    }
    node.ai.script(Script.tokens(3, 1));
    try (TestSocket socket = node.connect("session_id=after-fuzz")) {
      socket.until("history");
      socket.send(new JsonObject().put("type", "message").put("content", "still well?"));
      assertThat(socket.until("complete").getString("status")).isEqualTo("completed");
    }
  }

  private static void fuzz(Random random, String session, ConcurrentLinkedQueue<String> violations,
                           AtomicInteger framesSent, AtomicInteger framesReceived) throws IOException {
    RawWebSocket ws = null;
    Thread reader = null;
    int sent = 0;
    while (sent < FRAMES_PER_SOCKET) {
      if (ws == null) {
        ws = RawWebSocket.open(node.port, "session_id=" + session);
        RawWebSocket current = ws;
        reader = new Thread(() -> readAll(current, violations, framesReceived));
        reader.start();
      }
      try {
        send(ws, random);
        sent++;
        framesSent.incrementAndGet();
      } catch (IOException closedByServer) {
        join(reader);
        ws.close();
        ws = null;
        continue;
      }
      if (!reader.isAlive()) {
        ws.close();
        ws = null;
      }
    }
    if (ws != null) {
      ws.close();
      join(reader);
    }
  }

  private static void join(Thread reader) {
    try {
      reader.join(20_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Reads every frame until the connection ends, checking each against the protocol. */
  private static void readAll(RawWebSocket ws, ConcurrentLinkedQueue<String> violations, AtomicInteger received) {
    try {
      while (true) {
        RawWebSocket.Frame frame = ws.read(Duration.ofSeconds(30));
        if (frame == null) {
          return;
        }
        received.incrementAndGet();
        if (frame.opcode() == RawWebSocket.CLOSE) {
          if (!CLOSE_CODES.contains(frame.closeCode())) {
            violations.add("close code " + frame.closeCode());
          }
          return;
        }
        if (frame.opcode() != RawWebSocket.TEXT) {
          continue; // ping and pong
        }
        check(frame.text(), violations);
      }
    } catch (IOException | RuntimeException e) {
      if (!(e instanceof java.net.SocketException && String.valueOf(e.getMessage()).contains("closed"))) {
        violations.add("reading: " + e);
      }
    }
  }

  private static void check(String text, ConcurrentLinkedQueue<String> violations) {
    JsonObject frame;
    try {
      frame = new JsonObject(text);
    } catch (RuntimeException e) {
      violations.add("not a JSON object: " + text);
      return;
    }
    if (!SERVER_FRAME_TYPES.contains(frame.getString("type"))) {
      violations.add("unknown frame: " + text);
    } else if ("error".equals(frame.getString("type"))
        && (!ERROR_CODES.contains(frame.getString("code")) || !(frame.getValue("message") instanceof String))) {
      violations.add("bad error frame: " + text);
    }
  }

  private static void send(RawWebSocket ws, Random random) throws IOException {
    int kind = random.nextInt(100);
    if (kind < 2) {
      ws.send(RawWebSocket.TEXT, new byte[] {'{', (byte) (0x80 + random.nextInt(0x7F)), '}'}, true);
    } else if (kind < 4) {
      byte[] huge = new byte[(1 << 20) + random.nextInt(1000)];
      Arrays.fill(huge, (byte) 'a');
      ws.send(RawWebSocket.TEXT, huge, true);
    } else if (kind < 8) {
      byte[] binary = new byte[random.nextInt(200)];
      random.nextBytes(binary);
      ws.send(RawWebSocket.BINARY, binary, true);
    } else if (kind < 10) {
      int depth = 10_000;
      ws.sendText("[".repeat(depth) + "]".repeat(depth));
    } else if (kind < 12) {
      ws.sendText("{\"type\":\"message\",\"content\":\"" + "{".repeat(5000) + "\",\"x\":" + "9".repeat(5000) + "}");
    } else if (kind < 40) {
      ws.sendText(wrongTypes(random).encode());
    } else if (kind < 60) {
      ws.sendText(randomJson(random, 3).toString());
    } else if (kind < 75) {
      ws.sendText(nastyStrings(random));
    } else if (kind < 85) {
      ws.sendText(new JsonObject().put("type", "message").put("content", nastyText(random))
          .put("client_message_id", random.nextBoolean() ? nastyText(random) : "c-" + random.nextInt(5)).encode());
    } else {
      ws.sendText(new JsonObject().put("type", FRAME_TYPES[random.nextInt(FRAME_TYPES.length)])
          .put("message_id", nastyText(random)).encode());
    }
  }

  /** A frame of a known type whose fields hold every kind of wrong value. */
  private static JsonObject wrongTypes(Random random) {
    JsonObject frame = new JsonObject().put("type", FRAME_TYPES[random.nextInt(FRAME_TYPES.length)]);
    for (String field : FIELDS) {
      if (!field.equals("type") && random.nextBoolean()) {
        frame.put(field, wrongValue(random));
      }
    }
    if (random.nextInt(4) == 0) {
      frame.put("type", wrongValue(random));
    }
    return frame;
  }

  private static Object wrongValue(Random random) {
    return switch (random.nextInt(9)) {
      case 0 -> random.nextLong();
      case 1 -> random.nextDouble() * 1e300;
      case 2 -> random.nextBoolean();
      case 3 -> new JsonArray().add(1).add("x");
      case 4 -> new JsonObject().put("nested", new JsonObject().put("deeper", 1));
      case 5 -> "";
      case 6 -> nastyText(random);
      case 7 -> Long.MIN_VALUE;
      default -> null;
    };
  }

  private static Object randomJson(Random random, int depth) {
    if (depth == 0) {
      return JsonObject.of("v", wrongValue(random)).encode();
    }
    JsonObject object = new JsonObject();
    for (int i = random.nextInt(4); i >= 0; i--) {
      object.put(nastyText(random), random.nextBoolean() ? wrongValue(random) : randomJson(random, depth - 1));
    }
    return random.nextInt(5) == 0 ? new JsonArray().add(object) : object;
  }

  /** Texts with control characters, lone surrogates (as JSON escapes), Redis protocol and odd numbers. */
  private static String nastyStrings(Random random) {
    String[] frames = {
        "{\"type\":\"message\",\"content\":\"\\ud800\"}",
        "{\"type\":\"message\",\"content\":\"a\\udfff b\",\"client_message_id\":\"\\ud83d\"}",
        "{\"type\":\"message\",\"content\":\"\\u0000\\u0001\\u001f\\u007f\"}",
        "{\"type\":\"reconnect\",\"message_id\":\"m\",\"last_chunk_index\":1e999999}",
        "{\"type\":\"reconnect\",\"message_id\":\"m\",\"last_chunk_index\":-99999999999999999999999}",
        "{\"type\":\"reconnect\",\"message_id\":\"m\",\"last_chunk_index\":1.5}",
        "{\"type\":\"message\",\"content\":\"" + REDIS.replace("\r\n", "\\r\\n") + "\",\"client_message_id\":\"x\\r\\nPING\"}",
        "{\"type\":\"cancel\",\"message_id\":\"" + REDIS.replace("\r\n", "\\r\\n") + "\"}",
        "{\"type\":\"message\",\"type\":\"ping\"}",
        "{\"type\":\"message\",\"content\":\"x\"",
        "\u0000",
        "",
        " ",
        "null",
        "{\"type\":null}",
        "{\"type\":\"auth\",\"access_token\":\"e30.e30.\"}",
    };
    return frames[random.nextInt(frames.length)];
  }

  private static String nastyText(Random random) {
    StringBuilder text = new StringBuilder();
    for (int i = random.nextInt(30); i >= 0; i--) {
      switch (random.nextInt(6)) {
        case 0 -> text.append((char) random.nextInt(0x20));
        case 1 -> text.append((char) (0xD800 + random.nextInt(0x800)));
        case 2 -> text.append(REDIS);
        case 3 -> text.append("\"}{[");
        case 4 -> text.appendCodePoint(0x1F600 + random.nextInt(50));
        default -> text.append((char) ('a' + random.nextInt(26)));
      }
    }
    return text.toString();
  }
}
