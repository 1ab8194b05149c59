package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.testkit.FakeOpenAi.Script;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Browsers offer permessage-deflate on every socket. A node declines it unless CHAT_WS_COMPRESSION
 * is on: token frames are small, and compressing them costs more CPU and memory than it saves.
 */
class WebSocketCompressionTest {

  private static final String EXPECTED = IntStream.range(0, 20).mapToObj(i -> "t" + i + " ")
      .collect(Collectors.joining());

  @RegisterExtension
  static final TestNode plain = TestNode.perClass(new JsonObject());

  @RegisterExtension
  static final TestNode compressing = TestNode.perClass(new JsonObject().put("CHAT_WS_COMPRESSION", true));

  /** Connects offering compression, asks one question, and returns the frames up to its {@code complete}. */
  private static List<JsonObject> askOffering(TestNode node, String session, StringBuilder extensions) throws Exception {
    node.ai.script(Script.tokens(20, 1));
    WebSocketClient client = node.clientVertx.createWebSocketClient(new WebSocketClientOptions()
        .setTryUsePerMessageCompression(true));
    WebSocket socket = client.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(node.port)
        .setURI("/ws/chat?session_id=" + session + "&user_id=u-" + session)).await(10, TimeUnit.SECONDS);
    try {
      String accepted = socket.headers().get("sec-websocket-extensions");
      extensions.append(accepted == null ? "" : accepted);
      List<JsonObject> frames = new CopyOnWriteArrayList<>();
      socket.textMessageHandler(text -> frames.add(new JsonObject(text)));
      socket.writeTextMessage(new JsonObject().put("type", "message").put("content", "hello")
          .put("client_message_id", "c-1").encode()).await(10, TimeUnit.SECONDS);
      long deadline = System.currentTimeMillis() + 10_000;
      while (frames.stream().noneMatch(f -> "complete".equals(f.getString("type")))) {
        assertThat(System.currentTimeMillis()).as("frames so far: %s", frames).isLessThan(deadline);
        Thread.sleep(20);
      }
      return frames;
    } finally {
      socket.close().await(10, TimeUnit.SECONDS);
      client.close().await(10, TimeUnit.SECONDS);
    }
  }

  private static String answer(List<JsonObject> frames) {
    StringBuilder text = new StringBuilder();
    frames.stream().filter(f -> "chunk".equals(f.getString("type"))).forEach(f -> text.append(f.getString("content")));
    return text.toString();
  }

  @Test
  void byDefaultTheOfferIsDeclinedAndTheChatWorks() throws Exception {
    StringBuilder extensions = new StringBuilder();
    List<JsonObject> frames = askOffering(plain, "plain", extensions);
    assertThat(extensions.toString()).isEmpty();
    assertThat(answer(frames)).isEqualTo(EXPECTED);
  }

  @Test
  void whenTurnedOnTheOfferIsTakenAndTheChatWorksCompressed() throws Exception {
    StringBuilder extensions = new StringBuilder();
    List<JsonObject> frames = askOffering(compressing, "deflated", extensions);
    assertThat(extensions.toString()).startsWith("permessage-deflate");
    assertThat(answer(frames)).isEqualTo(EXPECTED);
  }
}
