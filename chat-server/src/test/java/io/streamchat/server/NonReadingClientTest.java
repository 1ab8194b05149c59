package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.testkit.FakeOpenAi.Script;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.StreamResetException;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A client that stops reading is closed after CHAT_WS_SLOW_CLIENT_CLOSE_MS; since it reads nothing,
 * it never gets the close frame, and its connection is dropped a few seconds later instead of
 * lasting until the idle timeout.
 */
class NonReadingClientTest {

  private static final Pattern OPEN_SOCKETS = Pattern.compile(
      "^chat_connections\\{[^}]*transport=\"websocket\"[^}]*} ([0-9.]+)$", Pattern.MULTILINE);

  @RegisterExtension
  static final TestNode node = TestNode.perClass(new JsonObject()
      .put("CHAT_WS_SLOW_CLIENT_CLOSE_MS", 1000)
      .put("CHAT_HTTP_IDLE_TIMEOUT_SECONDS", 120));

  private static double openSockets() throws Exception {
    Matcher matcher = OPEN_SOCKETS.matcher(node.get("/metrics").body());
    return matcher.find() ? Double.parseDouble(matcher.group(1)) : 0;
  }

  /** A client's text frame: masked, as RFC 6455 requires of clients. */
  private static byte[] maskedText(String text) {
    byte[] payload = text.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream frame = new ByteArrayOutputStream();
    frame.write(0x81);
    if (payload.length < 126) {
      frame.write(0x80 | payload.length);
    } else {
      frame.write(0x80 | 126);
      frame.write(payload.length >> 8);
      frame.write(payload.length & 0xff);
    }
    byte[] mask = {0x12, 0x34, 0x56, 0x78};
    frame.writeBytes(mask);
    for (int i = 0; i < payload.length; i++) {
      frame.write(payload[i] ^ mask[i % 4]);
    }
    return frame.toByteArray();
  }

  /** A raw connection with a 4 KB receive buffer, so that an answer soon fills it, and its request sent. */
  private static Socket connectWithASmallWindow(String request) throws Exception {
    Socket socket = new Socket();
    socket.setReceiveBufferSize(4096);
    socket.connect(new InetSocketAddress("127.0.0.1", node.port), 5000);
    socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
    socket.getOutputStream().flush();
    return socket;
  }

  @Test
  void aClientThatReadsNothingIsDroppedSoonAfterItIsClosed() throws Exception {
    node.ai.script(Script.tokens(1500, 1).paddedBy(8192));
    try (Socket socket = connectWithASmallWindow("GET /ws/chat?session_id=never-reads&user_id=u-never HTTP/1.1\r\n"
        + "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")) {
      OutputStream out = socket.getOutputStream();
      InputStream in = socket.getInputStream();
      StringBuilder head = new StringBuilder();
      while (!head.toString().endsWith("\r\n\r\n")) {
        int next = in.read();
        assertThat(next).as("the upgrade's answer: %s", head).isNotNegative();
        head.append((char) next);
      }
      assertThat(head.toString()).startsWith("HTTP/1.1 101");
      out.write(maskedText(new JsonObject().put("type", "message").put("content", "a long answer, please")
          .put("client_message_id", "c-1").encode()));
      out.flush();

      // From here on nothing is read: the answer fills the socket's buffers, and the node closes it.
      long start = System.currentTimeMillis();
      boolean sawOpen = false;
      double open = openSockets();
      while (open > 0 && System.currentTimeMillis() - start < 40_000) {
        sawOpen = true;
        Thread.sleep(200);
        open = openSockets();
      }
      long droppedAfterMs = System.currentTimeMillis() - start;
      assertThat(sawOpen).as("the socket was open while its client did not read").isTrue();
      assertThat(open).as("dropped well before the idle timeout (120 s)").isZero();
      System.out.printf("NON-READING socket dropped %d ms after its client stopped reading%n", droppedAfterMs);
    }
    assertThat(node.history("never-reads").getJsonArray("messages")).as("the node and its stores are fine")
        .hasSize(2);
  }

  @Test
  void anEventStreamThatReadsNothingIsDroppedSoonAfterItIsEnded() throws Exception {
    node.ai.script(Script.tokens(1500, 1).paddedBy(8192));
    try (Socket socket = connectWithASmallWindow(
        "GET /api/chat/events?session_id=never-reads-sse&user_id=u-never HTTP/1.1\r\n"
        + "Host: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")) {
      Thread.sleep(500);
      assertThat(node.post("/api/chat", new JsonObject().put("session_id", "never-reads-sse")
          .put("user_id", "u-never").put("message", "a long answer, please").encode()).statusCode()).isEqualTo(202);

      // Nothing is read for a while: the node ends the stream after 1 s and, 5 s later, drops it.
      Thread.sleep(12_000);
      socket.setSoTimeout(10_000);
      InputStream in = socket.getInputStream();
      byte[] buffer = new byte[1 << 16];
      long read = 0;
      int n;
      while ((n = in.read(buffer)) >= 0) {
        read += n;
      }
      // A stream ended but not dropped would wait for the next request of a kept-alive connection:
      // the read would time out instead of finding the end of the connection.
      assertThat(read).as("some of the answer was sent before the client stopped reading").isPositive();
    }
    assertThat(node.history("never-reads-sse").getJsonArray("messages")).hasSize(2);
  }

  @Test
  void overHttp2OnlyTheStreamThatReadsNothingIsResetNotTheConnectionItShares() throws Exception {
    node.ai.script(Script.tokens(1500, 1).paddedBy(8192));
    // Prior-knowledge h2c, as a proxy in front of the node may speak it for many clients at once.
    HttpClient client = node.clientVertx.createHttpClient(new HttpClientOptions()
        .setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false)
        .setInitialSettings(new Http2Settings().setInitialWindowSize(16 * 1024)));
    try {
      CompletableFuture<Throwable> reset = new CompletableFuture<>();
      HttpClientResponse events = client.request(HttpMethod.GET, node.port, "127.0.0.1",
              "/api/chat/events?session_id=never-reads-h2&user_id=u-never")
          .compose(request -> request.send()).await(10, TimeUnit.SECONDS);
      assertThat(events.version()).isEqualTo(HttpVersion.HTTP_2);
      events.pause();
      events.exceptionHandler(reset::complete);
      Thread.sleep(500);
      assertThat(node.post("/api/chat", new JsonObject().put("session_id", "never-reads-h2")
          .put("user_id", "u-never").put("message", "a long answer, please").encode()).statusCode()).isEqualTo(202);

      Throwable failure = reset.get(30, TimeUnit.SECONDS);
      assertThat(failure).as("the stream is cancelled").isInstanceOf(StreamResetException.class);
      assertThat(((StreamResetException) failure).getCode()).isEqualTo(0x8);
      HttpClientResponse other = client.request(HttpMethod.GET, node.port, "127.0.0.1", "/health/live")
          .compose(request -> request.send()).await(10, TimeUnit.SECONDS);
      assertThat(other.statusCode()).as("another stream of the same connection").isEqualTo(200);
      assertThat(other.request().connection()).isSameAs(events.request().connection());
    } finally {
      client.close().await(10, TimeUnit.SECONDS);
    }
  }
}
