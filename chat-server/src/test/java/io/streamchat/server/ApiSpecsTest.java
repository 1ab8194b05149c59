package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.testkit.FakeOpenAi.Script;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The OpenAPI and AsyncAPI documents the server serves, checked against the server itself: every
 * operation described is served, errors have the described shape, and every frame a conversation
 * produces is a described message with its required fields.
 */
class ApiSpecsTest {

  private static final Set<String> ROUTER_MISSES = Set.of("no such resource", "method not allowed here");
  private static TestNode node;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    node = new TestNode(new JsonObject());
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> served(String path) throws Exception {
    HttpResponse<String> response = node.get(path);
    assertThat(response.statusCode()).as(path).isEqualTo(200);
    return new Yaml().load(response.body());
  }

  @SuppressWarnings("unchecked")
  private static <T> T at(Object tree, String... keys) {
    Object node = tree;
    for (String key : keys) {
      node = ((Map<String, Object>) node).get(key);
    }
    return (T) node;
  }

  @Test
  @SuppressWarnings("unchecked")
  void everyDescribedOperationIsServedAndErrorsHaveTheDescribedShape() throws Exception {
    Map<String, Object> openapi = served("/openapi.yaml");
    assertThat(openapi.get("openapi")).isEqualTo("3.1.0");
    List<String> errorCodes = at(openapi, "components", "schemas", "Error", "properties", "error", "properties", "code",
        "enum");
    Map<String, Object> paths = at(openapi, "paths");
    assertThat(paths).hasSizeGreaterThan(15);
    List<String> checked = new ArrayList<>();
    for (Map.Entry<String, Object> path : paths.entrySet()) {
      for (String method : ((Map<String, Object>) path.getValue()).keySet()) {
        String uri = path.getKey().replace("{session_id}", "spec-check");
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port + uri));
        HttpRequest.BodyPublisher noBody = HttpRequest.BodyPublishers.ofString("{}");
        switch (method) {
          case "get" -> request.GET();
          case "post" -> request.header("content-type", "application/json").POST(noBody);
          case "patch" -> request.header("content-type", "application/json").method("PATCH", noBody);
          case "delete" -> request.DELETE();
          default -> throw new AssertionError("an operation of an unexpected method: " + method);
        }
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        checked.add(method + " " + uri + " -> " + response.statusCode());
        assertThat(response.statusCode()).as(method + " " + uri).isNotEqualTo(405);
        if (response.statusCode() >= 400) {
          JsonObject error = new JsonObject(response.body()).getJsonObject("error");
          assertThat(errorCodes).as(method + " " + uri).contains(error.getString("code"));
          assertThat(ROUTER_MISSES).as(method + " " + uri + " is routed").doesNotContain(error.getString("message"));
          Map<String, Object> responses = at(path.getValue(), method, "responses");
          assertThat(responses.containsKey(Integer.toString(response.statusCode())) || responses.containsKey("default"))
              .as(method + " " + uri + " describes " + response.statusCode()).isTrue();
        }
      }
    }
    System.out.println("OPENAPI checked: " + checked);
  }

  @Test
  @SuppressWarnings("unchecked")
  void everyFrameOfAConversationIsADescribedMessageWithItsRequiredFields() throws Exception {
    Map<String, Object> asyncapi = served("/asyncapi.yaml");
    assertThat(asyncapi.get("asyncapi")).isEqualTo("3.0.0");
    Map<String, Object> messages = at(asyncapi, "components", "messages");
    Map<String, Map<String, Object>> byName = messages.values().stream().map(m -> (Map<String, Object>) m)
        .collect(Collectors.toMap(m -> (String) m.get("name"), m -> m));

    node.ai.script(Script.tokens(5, 1));
    List<JsonObject> frames = new ArrayList<>();
    try (TestSocket socket = node.connect("session_id=spec-frames")) {
      frames.add(socket.next());
      socket.send(new JsonObject().put("type", "message").put("content", "describe me").put("client_message_id", "d-1"));
      frames.addAll(socket.takeUntil("complete"));
      socket.send(new JsonObject().put("type", "ping"));
      frames.add(socket.until("pong"));
      socket.send(new JsonObject().put("type", "heartbeat"));
      frames.add(socket.until("heartbeat_ack"));
      socket.send(new JsonObject().put("type", "cancel"));
      frames.add(socket.until("cancel_ack"));
      socket.send(new JsonObject().put("type", "nope"));
      frames.add(socket.until("error"));
    }
    assertThat(frames.stream().map(f -> f.getString("type")).distinct())
        .contains("history", "user_message", "stream_start", "chunk", "complete", "pong", "heartbeat_ack", "cancel_ack",
            "error");
    for (JsonObject frame : frames) {
      Map<String, Object> message = byName.get(frame.getString("type"));
      assertThat(message).as("a described message: " + frame.getString("type")).isNotNull();
      List<String> required = at(message, "payload", "required");
      if (required != null) {
        assertThat(frame.fieldNames()).as(frame.encode()).containsAll(required);
      }
    }
  }
}
