package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.testkit.EventStream;
import io.streamchat.testkit.FakeOpenAi.Script;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Authentication and authorization on one node with an HS256 secret: every transport (WebSocket,
 * HTTP, Server-Sent Events, {@code chat.api}) refuses a missing, forged, expired or unsigned token,
 * and another user's session; the right user gets in.
 */
class AuthTest {

  private static final String SECRET = "a-test-secret-that-is-long-enough-for-hs256!";

  private static TestNode node;
  private static JWTAuth issuer;
  private static JWTAuth forger;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    node = new TestNode(new JsonObject().put("CHAT_AUTH_JWT_SECRET", SECRET));
    issuer = JWTAuth.create(node.clientVertx, new JWTAuthOptions()
        .addPubSecKey(new PubSecKeyOptions().setAlgorithm("HS256").setBuffer(SECRET)));
    forger = JWTAuth.create(node.clientVertx, new JWTAuthOptions()
        .addPubSecKey(new PubSecKeyOptions().setAlgorithm("HS256").setBuffer("some-other-secret-of-the-same-length!!!")));
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  static String token(String user, long expiresInSeconds) {
    return issuer.generateToken(new JsonObject().put("sub", user)
        .put("exp", Instant.now().getEpochSecond() + expiresInSeconds), new JWTOptions().setAlgorithm("HS256"));
  }

  /** Every token that must not get in, by what is wrong with it. */
  static Map<String, String> badTokens() {
    Map<String, String> tokens = new LinkedHashMap<>();
    tokens.put("no token", null);
    tokens.put("garbage", "not.a.token");
    tokens.put("bad signature", forger.generateToken(new JsonObject().put("sub", "alice"),
        new JWTOptions().setAlgorithm("HS256").setExpiresInSeconds(600)));
    tokens.put("expired", issuer.generateToken(new JsonObject().put("sub", "alice")
        .put("exp", Instant.now().getEpochSecond() - 120), new JWTOptions().setAlgorithm("HS256")));
    tokens.put("alg none", unsigned("{\"alg\":\"none\",\"typ\":\"JWT\"}",
        "{\"sub\":\"alice\",\"exp\":" + (Instant.now().getEpochSecond() + 600) + "}"));
    tokens.put("no subject", issuer.generateToken(new JsonObject().put("name", "alice"),
        new JWTOptions().setAlgorithm("HS256").setExpiresInSeconds(600)));
    tokens.put("exp a string", issuer.generateToken(new JsonObject().put("sub", "alice")
        .put("exp", Long.toString(Instant.now().getEpochSecond() + 600)), new JWTOptions().setAlgorithm("HS256")));
    return tokens;
  }

  private static String unsigned(String header, String payload) {
    Base64.Encoder url = Base64.getUrlEncoder().withoutPadding();
    return url.encodeToString(header.getBytes(StandardCharsets.UTF_8)) + "."
        + url.encodeToString(payload.getBytes(StandardCharsets.UTF_8)) + ".";
  }

  private static int upgradeStatus(String query) {
    return upgradeStatus(query, null);
  }

  private static int upgradeStatus(String query, String origin) {
    List<TestSocket> opened = new ArrayList<>();
    int status = TestSocket.upgradeStatus(node.clientVertx, node.port, query, origin, opened);
    opened.forEach(TestSocket::close);
    return status;
  }

  private HttpResponse<String> get(String path, String bearer) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port + path)).GET();
    if (bearer != null) {
      request.header("Authorization", "Bearer " + bearer);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(String path, String bearer, JsonObject body) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port + path))
        .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.encode()));
    if (bearer != null) {
      request.header("Authorization", "Bearer " + bearer);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Alice owns {@code session} once she has used it. */
  private static void aliceUses(String session) {
    node.ai.script(Script.tokens(3, 1));
    try (TestSocket socket = node.connect("session_id=" + session + "&access_token=" + token("alice", 600))) {
      assertThat(socket.next().getString("type")).isEqualTo("history");
      socket.send(new JsonObject().put("type", "message").put("content", "mine"));
      assertThat(socket.until("complete").getString("status")).isEqualTo("completed");
    }
  }

  @Test
  void webSocketUpgradeNeedsAValidTokenOfTheSessionsUser() {
    aliceUses("ws-owned");
    badTokens().forEach((what, token) -> assertThat(upgradeStatus("session_id=ws-owned"
        + (token == null ? "" : "&access_token=" + token))).as(what).isEqualTo(401));
    assertThat(upgradeStatus("session_id=ws-owned&access_token=" + token("bob", 600))).as("wrong user").isEqualTo(403);
    assertThat(upgradeStatus("session_id=ws-owned&user_id=bob&access_token=" + token("alice", 600)))
        .as("user_id disagrees with the token").isEqualTo(403);
    assertThat(upgradeStatus("session_id=ws-owned&user_id=alice&access_token=" + token("alice", 600)))
        .as("right user").isEqualTo(101);
    assertThat(upgradeStatus("session_id=ws-bobs&access_token=" + token("bob", 600))).as("a new session").isEqualTo(101);
  }

  @Test
  void httpApiNeedsAValidTokenOfTheSessionsUser() throws Exception {
    aliceUses("http-owned");
    for (Map.Entry<String, String> bad : badTokens().entrySet()) {
      HttpResponse<String> response = get("/api/history/http-owned", bad.getValue());
      assertThat(response.statusCode()).as(bad.getKey()).isEqualTo(401);
      assertThat(new JsonObject(response.body()).getJsonObject("error").getString("code")).isEqualTo("unauthorized");
      assertThat(response.headers().firstValue("www-authenticate")).as("RFC 6750").contains("Bearer");
      assertThat(post("/api/chat", bad.getValue(), new JsonObject().put("session_id", "http-owned")
          .put("message", "hi")).statusCode()).as(bad.getKey()).isEqualTo(401);
    }
    String bob = token("bob", 600);
    String alice = token("alice", 600);
    assertThat(get("/api/history/http-owned", bob).statusCode()).isEqualTo(403);
    assertThat(post("/api/chat", bob, new JsonObject().put("session_id", "http-owned").put("message", "hi")).statusCode())
        .isEqualTo(403);
    assertThat(post("/api/chat/cancel", bob, new JsonObject().put("session_id", "http-owned")).statusCode()).isEqualTo(403);
    assertThat(post("/api/chat/recover", bob, new JsonObject().put("session_id", "http-owned")).statusCode()).isEqualTo(403);
    assertThat(post("/api/chat", alice, new JsonObject().put("session_id", "http-owned").put("user_id", "bob")
        .put("message", "hi")).statusCode()).as("user_id disagrees").isEqualTo(403);
    HttpResponse<String> history = get("/api/history/http-owned", alice);
    assertThat(history.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(history.body()).getJsonArray("messages")).hasSize(2);
    assertThat(get("/api/history/http-owned?access_token=" + alice, null).statusCode()).as("token as parameter")
        .isEqualTo(200);
    assertThat(node.get("/health").statusCode()).as("health needs no token").isEqualTo(200);
    assertThat(node.get("/metrics").statusCode()).as("metrics need no token").isEqualTo(200);
    assertThat(node.get("/history/http-owned").statusCode()).as("the compat path too").isEqualTo(401);
  }

  @Test
  void eventStreamsNeedAValidTokenOfTheSessionsUser() throws Exception {
    aliceUses("sse-owned");
    for (Map.Entry<String, String> bad : badTokens().entrySet()) {
      assertThat(eventStreamStatus("session_id=sse-owned" + (bad.getValue() == null ? "" : "&access_token="
          + bad.getValue()))).as(bad.getKey()).isEqualTo(401);
    }
    assertThat(eventStreamStatus("session_id=sse-owned&access_token=" + token("bob", 600))).isEqualTo(403);
    assertThat(eventStreamStatus("session_id=sse-owned&user_id=bob&access_token=" + token("alice", 600)))
        .isEqualTo(403);
    try (EventStream stream = EventStream.open(node.port, "session_id=sse-owned&access_token=" + token("alice", 600),
        null)) {
      EventStream.Event history = stream.next(Duration.ofSeconds(10));
      assertThat(history.type()).isEqualTo("history");
      assertThat(history.data().getJsonArray("messages")).hasSize(2);
    }
  }

  private static int eventStreamStatus(String query) throws Exception {
    try (EventStream ignored = EventStream.open(node.port, query, null)) {
      return 200;
    } catch (IllegalStateException refused) {
      return Integer.parseInt(refused.getMessage().substring(5, 8));
    }
  }

  @Test
  void chatApiOnTheEventBusNeedsAValidTokenOfTheSessionsUser() throws Exception {
    aliceUses("bus-owned");
    for (Map.Entry<String, String> bad : badTokens().entrySet()) {
      JsonObject request = new JsonObject().put("action", "history").put("session_id", "bus-owned");
      if (bad.getValue() != null) {
        request.put("access_token", bad.getValue());
      }
      assertThat(busFailure(request, null)).as(bad.getKey()).isEqualTo(401);
    }
    assertThat(busFailure(new JsonObject().put("action", "history").put("session_id", "bus-owned"), token("bob", 600)))
        .isEqualTo(403);
    JsonObject history = node.server.vertx().eventBus().<JsonObject>request("chat.api",
            new JsonObject().put("action", "history").put("session_id", "bus-owned"),
            new DeliveryOptions().addHeader("authorization", "Bearer " + token("alice", 600)))
        .await(10, TimeUnit.SECONDS).body();
    assertThat(history.getJsonArray("messages")).hasSize(2);

    JsonObject asText = new JsonObject().put("action", "history").put("session_id", "bus-owned");
    String alice = token("alice", 600);
    assertThat(busFailure(asText.encode(), alice)).as("the request as JSON text").isEqualTo(200);
    assertThat(busFailure(asText.toBuffer(), alice)).as("the request as JSON bytes").isEqualTo(200);
    assertThat(busFailure("not json", alice)).as("text that is not JSON").isEqualTo(400);
    assertThat(busFailure("[1,2]", alice)).as("JSON that is not an object").isEqualTo(400);
    assertThat(busFailure(42, alice)).as("a number").isEqualTo(400);
  }

  private static int busFailure(Object request, String bearer) {
    DeliveryOptions options = new DeliveryOptions();
    if (bearer != null) {
      options.addHeader("authorization", "Bearer " + bearer);
    }
    try {
      node.server.vertx().eventBus().request("chat.api", request, options).await(10, TimeUnit.SECONDS);
      return 200;
    } catch (ReplyException e) {
      return e.failureCode();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void theAuthFrameRenewsASocketAndAnExpiredSocketIsClosed() {
    Instant opened = Instant.now();
    try (TestSocket renewed = node.connect("session_id=renewed&access_token=" + token("carol", 3));
         TestSocket lapsing = node.connect("session_id=lapsing&access_token=" + token("carol", 3))) {
      renewed.next();
      lapsing.next();
      renewed.send(new JsonObject().put("type", "auth").put("access_token", token("carol", 3600)));
      JsonObject ack = renewed.until("auth_ack");
      assertThat(Instant.parse(ack.getString("expires_at"))).isAfter(Instant.now().plusSeconds(3000));

      JsonObject expired = lapsing.until(frame -> "error".equals(frame.getString("type")), Duration.ofSeconds(15));
      assertThat(expired.getString("code")).isEqualTo("unauthorized");
      assertThat(Duration.between(opened, Instant.now())).as("the token's exp (2-3 s) and the 5 s of clock skew tolerated")
          .isGreaterThanOrEqualTo(Duration.ofSeconds(7));
      assertThat(lapsing.awaitClose(Duration.ofSeconds(5))).isEqualTo((short) 1008);

      renewed.send(new JsonObject().put("type", "ping"));
      assertThat(renewed.until("pong")).isNotNull();
      assertThat(renewed.isClosed()).isFalse();

      renewed.send(new JsonObject().put("type", "auth").put("access_token", token("mallory", 3600)));
      assertThat(renewed.until("error").getString("code")).isEqualTo("unauthorized");
      assertThat(renewed.awaitClose(Duration.ofSeconds(5))).isEqualTo((short) 1008);
    }
    for (String invalid : new String[] {"", "not-a-token", badTokens().get("exp a string")}) {
      try (TestSocket socket = node.connect("session_id=renewed&access_token=" + token("carol", 600))) {
        socket.next();
        socket.send(new JsonObject().put("type", "auth"));
        assertThat(socket.until("error").getString("code")).as("no token at all").isEqualTo("bad_request");
        socket.send(new JsonObject().put("type", "auth").put("access_token", invalid));
        assertThat(socket.until("error").getString("code")).as("token '%s'", invalid).isEqualTo("unauthorized");
        assertThat(socket.awaitClose(Duration.ofSeconds(5))).isEqualTo((short) 1008);
      }
    }
  }

  @Test
  void aPageOfAnotherOriginMayNotOpenASocket() throws Exception {
    String alice = token("alice", 600);
    HttpRequest foreign = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port + "/api/history/origin-check"))
        .header("Origin", "http://evil.example").header("Authorization", "Bearer " + alice).GET().build();
    assertThat(http.send(foreign, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(403);
    HttpRequest own = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port + "/api/history/origin-check"))
        .header("Origin", "http://127.0.0.1:" + node.port).header("Authorization", "Bearer " + alice).GET().build();
    assertThat(http.send(own, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
    assertThat(upgradeStatus("session_id=origin-check&access_token=" + alice, "http://evil.example")).isEqualTo(403);
    assertThat(upgradeStatus("session_id=origin-check&access_token=" + alice, "http://127.0.0.1:" + node.port))
        .isEqualTo(101);
  }
}
