package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import io.streamchat.cache.EmbeddedRedis;
import io.streamchat.testkit.FakeOpenAi.Script;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * HTTPS and WSS with a configured certificate, Redis behind an ACL user, and no secret in any log
 * line the node writes while it runs.
 */
class TransportSecurityTest {

  private static final String JWT_SECRET = "jwt-secret-that-must-never-be-logged-0123456789";
  private static final String KEYSTORE_PASSWORD = "keystore-password-never-logged";
  private static final String REDIS_PASSWORD = "redis-password-never-logged";

  private static final ListAppender<ILoggingEvent> LOGS = new ListAppender<>();
  private static Path dir;
  private static EmbeddedRedis redis;
  private static TestNode node;
  private static String token;

  @BeforeAll
  static void start() throws Exception {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    LOGS.start();
    root.addAppender(LOGS);
    dir = Files.createTempDirectory("tls-test");
    Path keystore = dir.resolve("server.p12");
    Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
        "-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
        "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2", "-storetype", "PKCS12",
        "-keystore", keystore.toString(), "-storepass", KEYSTORE_PASSWORD).inheritIO().start();
    assertThat(keytool.waitFor(60, TimeUnit.SECONDS) && keytool.exitValue() == 0).as("keytool").isTrue();

    redis = EmbeddedRedis.start();
    io.vertx.core.Vertx setup = io.vertx.core.Vertx.vertx();
    try {
      Redis admin = Redis.createClient(setup, redis.url());
      RedisAPI.api(admin).acl(List.of("SETUSER", "chatapp", "on", ">" + REDIS_PASSWORD, "~*", "&*", "+@all")).await();
      RedisAPI.api(admin).acl(List.of("SETUSER", "default", "off")).await();
      admin.close();
    } finally {
      setup.close().await();
    }
    String redisUrl = redis.url().replace("redis://", "redis://chatapp:" + REDIS_PASSWORD + "@");
    node = new TestNode(new JsonObject()
        .put("CHAT_REDIS_URL", redisUrl)
        .put("CHAT_AUTH_JWT_SECRET", JWT_SECRET)
        .put("CHAT_TLS_KEYSTORE_PATH", keystore.toString())
        .put("CHAT_TLS_KEYSTORE_PASSWORD", KEYSTORE_PASSWORD));
    token = JWTAuth.create(node.clientVertx, new JWTAuthOptions()
            .addPubSecKey(new PubSecKeyOptions().setAlgorithm("HS256").setBuffer(JWT_SECRET)))
        .generateToken(new JsonObject().put("sub", "tess"), new JWTOptions().setExpiresInSeconds(600));
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      node.close();
      redis.close();
      Files.walk(dir).sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } finally {
      ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(LOGS);
    }
  }

  @Test
  void wssAndHttpsServeAnAnswerStoredThroughAnAclUserAndNoSecretIsLogged() throws Exception {
    node.ai.script(Script.tokens(5, 1));
    WebSocketClient client = node.clientVertx.createWebSocketClient(new WebSocketClientOptions()
        .setSsl(true).setTrustAll(true).setVerifyHost(false));
    LinkedBlockingQueue<JsonObject> frames = new LinkedBlockingQueue<>();
    // The handler is set on the socket's own event loop as it opens, so that no frame arrives before it.
    WebSocket socket = client.connect(new WebSocketConnectOptions().setSsl(true).setHost("127.0.0.1").setPort(node.port)
            .setURI("/ws/chat?session_id=tls-1&access_token=" + token))
        .map(ws -> ws.textMessageHandler(text -> frames.add(new JsonObject(text))))
        .await(10, TimeUnit.SECONDS);
    assertThat(frames.poll(10, TimeUnit.SECONDS).getString("type")).isEqualTo("history");
    socket.writeTextMessage(new JsonObject().put("type", "message").put("content", "over TLS").encode());
    JsonObject frame;
    do {
      frame = frames.poll(10, TimeUnit.SECONDS);
    } while (frame != null && !"complete".equals(frame.getString("type")));
    assertThat(frame).as("the answer completes").isNotNull();
    socket.close().await(5, TimeUnit.SECONDS);
    client.close();

    io.vertx.core.http.HttpClient https = node.clientVertx.createHttpClient(new HttpClientOptions()
        .setSsl(true).setTrustAll(true).setVerifyHost(false));
    Buffer history = https.request(new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1")
            .setPort(node.port).setURI("/api/history/tls-1").putHeader("authorization", "Bearer " + token))
        .compose(request -> request.send().compose(response -> response.body()))
        .await(10, TimeUnit.SECONDS);
    assertThat(new JsonObject(history).getJsonArray("messages")).hasSize(2);
    https.close();

    assertThat(LOGS.list).isNotEmpty();
    for (ILoggingEvent event : List.copyOf(LOGS.list)) {
      String line = event.getFormattedMessage()
          + (event.getThrowableProxy() == null ? "" : ThrowableProxyUtil.asString(event.getThrowableProxy()));
      for (String secret : List.of(JWT_SECRET, KEYSTORE_PASSWORD, REDIS_PASSWORD, token)) {
        assertThat(line).as("a log line of " + event.getLoggerName()).doesNotContain(secret);
      }
    }
  }
}
