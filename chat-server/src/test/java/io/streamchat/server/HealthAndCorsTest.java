package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Readiness asks every dependency: a hung Redis makes the node unready, with the reason, until it
 * answers again. Cross-origin calls get CORS headers for the listed origins, or for any origin
 * when none is listed and authentication is off.
 */
class HealthAndCorsTest {

  @RegisterExtension
  static final TestNode node = TestNode.perClass(new JsonObject().put("CHAT_ALLOWED_ORIGINS", "https://chat.example"));

  @Test
  void readinessFollowsTheDependenciesAndLivenessDoesNot() throws Exception {
    HttpResponse<String> ready = node.get("/health/ready");
    assertThat(ready.statusCode()).isEqualTo(200);
    JsonObject body = new JsonObject(ready.body());
    assertThat(body.getString("status")).isEqualTo("UP");
    assertThat(body.getString("node_id")).isEqualTo("test-node");
    JsonObject checks = body.getJsonObject("checks");
    assertThat(checks.getString("redis")).isEqualTo("UP");
    assertThat(checks.getString("postgres")).as("CHAT_DB_URL=none").isEqualTo("OFF");
    assertThat(checks.getString("kafka")).as("CHAT_KAFKA_BOOTSTRAP=none").isEqualTo("OFF");
    assertThat(checks.getString("cluster")).as("not clustered").isEqualTo("OFF");
    assertThat(new JsonObject(node.get("/health").body()).getString("authentication")).startsWith("OFF");

    node.redis.pause();
    try {
      HttpResponse<String> unready = node.get("/health/ready");
      assertThat(unready.statusCode()).isEqualTo(503);
      JsonObject down = new JsonObject(unready.body());
      assertThat(down.getString("status")).isEqualTo("DOWN");
      assertThat(down.getJsonObject("checks").getString("redis")).startsWith("DOWN");
      HttpResponse<String> live = node.get("/health/live");
      assertThat(live.statusCode()).as("the process itself is fine").isEqualTo(200);
      assertThat(new JsonObject(live.body()).getJsonObject("checks").getString("process")).isEqualTo("UP");
    } finally {
      node.redis.resume();
    }
    int status = 0;
    for (int attempt = 0; attempt < 50 && status != 200; attempt++) {
      status = node.get("/health/ready").statusCode();
      if (status != 200) {
        Thread.sleep(100);
      }
    }
    assertThat(status).isEqualTo(200);
  }

  private static HttpResponse<String> fromPage(String origin, String method) throws Exception {
    return fromPage(node, origin, method);
  }

  private static HttpResponse<String> fromPage(TestNode node, String origin, String method) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port
        + "/api/history/cors-check")).header("Origin", origin);
    if (method.equals("OPTIONS")) {
      request.method("OPTIONS", HttpRequest.BodyPublishers.noBody()).header("Access-Control-Request-Method", "GET");
    } else {
      request.GET();
    }
    return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void listedOriginsGetCorsHeadersTheServersOwnPagesNeedNoneAndOthersAreRefused() throws Exception {
    HttpResponse<String> preflight = fromPage("https://chat.example", "OPTIONS");
    assertThat(preflight.statusCode()).isBetween(200, 204);
    assertThat(preflight.headers().firstValue("access-control-allow-origin")).hasValue("https://chat.example");
    HttpResponse<String> listed = fromPage("https://chat.example", "GET");
    assertThat(listed.statusCode()).isEqualTo(200);
    assertThat(listed.headers().firstValue("access-control-allow-origin")).hasValue("https://chat.example");
    assertThat(fromPage("http://127.0.0.1:" + node.port, "GET").statusCode()).as("the server's own page")
        .isEqualTo(200);
    HttpResponse<String> other = fromPage("https://evil.example", "GET");
    assertThat(other.statusCode()).isEqualTo(403);
    assertThat(new JsonObject(other.body()).getJsonObject("error").getString("code")).isEqualTo("forbidden");
  }

  @Test
  void withNoOriginListedAndAuthenticationOffAPageOfAnyOriginMayCall() throws Exception {
    try (TestNode open = new TestNode(new JsonObject())) {
      HttpResponse<String> preflight = fromPage(open, "http://localhost:3000", "OPTIONS");
      assertThat(preflight.statusCode()).isBetween(200, 204);
      assertThat(preflight.headers().firstValue("access-control-allow-origin")).hasValue("*");
      assertThat(preflight.headers().firstValue("access-control-allow-methods").orElse("")).contains("POST", "DELETE");
      HttpResponse<String> call = fromPage(open, "http://localhost:3000", "GET");
      assertThat(call.statusCode()).isEqualTo(200);
      assertThat(call.headers().firstValue("access-control-allow-origin")).hasValue("*");
    }
  }
}
