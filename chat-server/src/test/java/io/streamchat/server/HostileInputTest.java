package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.testkit.FakeOpenAi.Script;
import io.streamchat.testkit.RawWebSocket;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Frames no client library would send: each gets its close code, and the server carries on. */
class HostileInputTest {

  @RegisterExtension
  static final TestNode node = TestNode.perClass(new JsonObject());

  private static RawWebSocket open(String session) throws IOException {
    RawWebSocket ws = RawWebSocket.open(node.port, "session_id=" + session);
    RawWebSocket.Frame history = ws.read(Duration.ofSeconds(10));
    assertThat(history).isNotNull();
    assertThat(new JsonObject(history.text()).getString("type")).isEqualTo("history");
    return ws;
  }

  /** Sends what it can: the server may stop reading a frame it refuses. */
  private static void sendAnyway(RawWebSocket ws, int opcode, byte[] payload, boolean fin) {
    try {
      ws.send(opcode, payload, fin);
    } catch (IOException refusedMidway) {
      // the close frame is still there to read
    }
  }

  @Test
  void textThatIsNotUtf8ClosesWith1007() throws Exception {
    byte[][] notUtf8 = {{(byte) 0xFF}, {'{', (byte) 0xC3, '}'}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
        {'"', (byte) 0xF8, '"'}};
    for (byte[] bad : notUtf8) {
      try (RawWebSocket ws = open("utf8")) {
        sendAnyway(ws, RawWebSocket.TEXT, bad, true);
        assertThat(ws.awaitClose(Duration.ofSeconds(15))).as(Arrays.toString(bad)).isEqualTo(1007);
      }
    }
    assertServerCarriesOn("utf8");
  }

  @Test
  void everyOversizedFrameClosesWith1009WhateverItsSize() throws Exception {
    for (int size : new int[] {65_537, 1 << 20, 8 << 20}) {
      try (RawWebSocket ws = open("oversized")) {
        byte[] payload = new byte[size];
        Arrays.fill(payload, (byte) 'x');
        sendAnyway(ws, RawWebSocket.TEXT, payload, true);
        assertThat(ws.awaitClose(Duration.ofSeconds(15))).as(size + " bytes").isEqualTo(1009);
      }
    }
    try (RawWebSocket ws = open("oversized")) {
      byte[] part = new byte[40_000];
      Arrays.fill(part, (byte) 'y');
      sendAnyway(ws, RawWebSocket.TEXT, part, false);
      sendAnyway(ws, 0, part, true);
      assertThat(ws.awaitClose(Duration.ofSeconds(15))).as("a message of two fragments").isEqualTo(1009);
    }
    assertServerCarriesOn("oversized");
  }

  private static void assertServerCarriesOn(String session) {
    node.ai.script(Script.tokens(3, 1));
    try (TestSocket socket = node.connect("session_id=" + session)) {
      assertThat(socket.next().getString("type")).isEqualTo("history");
      socket.send(new JsonObject().put("type", "message").put("content", "still here?"));
      assertThat(socket.until("complete").getString("status")).isEqualTo("completed");
    }
  }
}
