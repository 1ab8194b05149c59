package io.streamchat.server;

import static io.streamchat.server.StreamingProtocolTest.expectedAnswer;
import static io.streamchat.server.StreamingProtocolTest.message;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.testkit.ChatFollower;
import io.streamchat.testkit.FakeOpenAi.Script;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Regenerate and continue (protocol 1.1) on one real node, against a real OpenAI-compatible HTTP
 * server that records the requests it gets and continues a prefilled answer where it stopped.
 */
class AnswersTest {

  @RegisterExtension
  static final TestNode node = TestNode.perClass(new JsonObject().put("CHAT_AI_CONTINUATION", "vllm"));

  private static JsonObject regenerate(String clientMessageId) {
    JsonObject frame = new JsonObject().put("type", "regenerate");
    return clientMessageId == null ? frame : frame.put("client_message_id", clientMessageId);
  }

  private static JsonObject continueFrame(String messageId) {
    JsonObject frame = new JsonObject().put("type", "continue");
    return messageId == null ? frame : frame.put("message_id", messageId);
  }

  private static JsonObject lastRequest() {
    List<JsonObject> requests = node.ai.requests();
    return requests.get(requests.size() - 1);
  }

  private static List<String> contents(JsonObject request) {
    return request.getJsonArray("messages").stream().map(m -> ((JsonObject) m).getString("content")).toList();
  }

  @Test
  void regenerateAnswersTheLastQuestionAgainTheOldAnswerStaysAndOnlyTheNewOneIsContextLater() throws Exception {
    node.ai.script(Script.tokens(5, 2));
    ChatFollower first = new ChatFollower();
    ChatFollower second = new ChatFollower();
    String original;
    try (TestSocket a = node.connect("session_id=regen", first); TestSocket b = node.connect("session_id=regen", second)) {
      a.next();
      b.next();
      a.send(message("the question", null));
      JsonObject question = a.until("user_message");
      original = a.takeUntil("complete").get(0).getString("message_id");

      a.send(regenerate("r-1"));
      JsonObject start = a.until("stream_start");
      assertThat(start.getString("reply_to")).isEqualTo(question.getString("message_id"));
      assertThat(start.getString("message_id")).isNotEqualTo(original);
      assertThat(start.containsKey("continues")).isFalse();
      a.send(regenerate("r-1"));
      JsonObject complete = a.until("complete");
      assertThat(complete.getString("finish_reason")).isEqualTo("stop");
      assertThat(contents(lastRequest())).as("the regenerated answer is asked without the old one")
          .containsExactly("the question");

      a.send(new JsonObject().put("type", "ping"));
      assertThat(a.next().getString("type")).as("the repeated regenerate started nothing").isEqualTo("pong");
      b.takeUntil("complete");
      b.takeUntil("complete");

      a.send(message("a follow-up", null));
      a.takeUntil("complete");
      b.takeUntil("complete");
      assertThat(contents(lastRequest())).containsExactly("the question", expectedAnswer(5), "a follow-up");
    }
    assertThat(first.violations()).isEmpty();
    assertThat(second.violations()).isEmpty();
    assertThat(first.messages().keySet()).as("two tabs agree").containsExactlyElementsOf(second.messages().keySet());
    JsonArray history = node.history("regen").getJsonArray("messages");
    assertThat(history).hasSize(5);
    assertThat(history.getJsonObject(1).getString("message_id")).isEqualTo(original);
    assertThat(history.getJsonObject(2).getString("reply_to")).isEqualTo(history.getJsonObject(0).getString("message_id"));
  }

  @Test
  void continueAfterTheLengthLimitGoesOnWhereTheAnswerWasCut() throws Exception {
    node.ai.script(Script.tokens(8, 2).finishingWith("length"));
    ChatFollower follower = new ChatFollower();
    try (TestSocket socket = node.connect("session_id=cont-length", follower)) {
      socket.next();
      node.ai.script(Script.tokens(4, 2).finishingWith("length"));
      socket.send(message("write a lot", null));
      JsonObject cut = socket.until("complete");
      assertThat(cut.getString("status")).isEqualTo("completed");
      assertThat(cut.getString("finish_reason")).isEqualTo("length");
      assertThat(cut.getString("content")).isEqualTo(expectedAnswer(4));

      node.ai.script(Script.tokens(8, 2));
      socket.send(continueFrame(null));
      JsonObject start = socket.until("stream_start");
      assertThat(start.getString("continues")).isEqualTo(cut.getString("message_id"));
      JsonObject rest = socket.until("complete");
      assertThat(rest.getString("content")).as("the provider went on from t4").isEqualTo("t4 t5 t6 t7 ");
      JsonObject request = lastRequest();
      JsonArray messages = request.getJsonArray("messages");
      assertThat(messages.getJsonObject(messages.size() - 1).getString("role")).isEqualTo("assistant");
      assertThat(messages.getJsonObject(messages.size() - 1).getString("content")).isEqualTo(expectedAnswer(4));
      assertThat(request.getBoolean("continue_final_message")).isTrue();

      socket.send(continueFrame(null));
      JsonObject refused = socket.until("error");
      assertThat(refused.getString("code")).as("a complete answer").isEqualTo("bad_request");
      assertThat(refused.getString("ref")).isEqualTo("continue");
    }
    assertThat(follower.violations()).isEmpty();
    JsonArray history = node.history("cont-length").getJsonArray("messages");
    assertThat(history.getJsonObject(2).getString("continues")).isEqualTo(history.getJsonObject(1).getString("message_id"));
    assertThat(history.getJsonObject(1).getString("finish_reason")).isEqualTo("length");
    assertThat(history.getJsonObject(1).getString("content") + history.getJsonObject(2).getString("content"))
        .isEqualTo(expectedAnswer(8));
  }

  @Test
  void continueAfterCancelOverHttpAndItsRefusals() throws Exception {
    node.ai.script(Script.tokens(400, 10));
    ChatFollower follower = new ChatFollower();
    try (TestSocket socket = node.connect("session_id=cont-cancel", follower)) {
      socket.next();
      HttpResponse<String> none = node.post("/api/chat/continue", "{\"session_id\":\"cont-cancel\"}");
      assertThat(none.statusCode()).isEqualTo(404);
      assertThat(new JsonObject(none.body()).getJsonObject("error").getString("code")).isEqualTo("not_found");
      assertThat(node.post("/api/chat/regenerate", "{\"session_id\":\"cont-cancel\"}").statusCode()).isEqualTo(404);

      socket.send(message("stop me", "c-1"));
      String answer = socket.until("stream_start").getString("message_id");
      socket.until("chunk");
      assertThat(node.post("/api/chat/continue", "{\"session_id\":\"cont-cancel\"}").statusCode())
          .as("busy while streaming").isEqualTo(409);
      assertThat(node.post("/api/chat/regenerate", "{\"session_id\":\"cont-cancel\"}").statusCode()).isEqualTo(409);
      socket.send(new JsonObject().put("type", "cancel"));
      JsonObject cancelled = socket.until("complete");
      assertThat(cancelled.getString("status")).isEqualTo("cancelled");
      int kept = cancelled.getInteger("total_chunks");

      node.ai.script(Script.tokens(kept + 3, 2));
      HttpResponse<String> accepted = node.post("/api/chat/continue",
          "{\"session_id\":\"cont-cancel\",\"message_id\":\"" + answer + "\"}");
      assertThat(accepted.statusCode()).isEqualTo(202);
      JsonObject body = new JsonObject(accepted.body());
      assertThat(body.getString("session_id")).isEqualTo("cont-cancel");
      JsonObject start = socket.until("stream_start");
      assertThat(start.getString("message_id")).isEqualTo(body.getString("reply_message_id"));
      assertThat(start.getString("continues")).isEqualTo(answer);
      assertThat(socket.until("complete").getString("content")).isEqualTo("t" + kept + " t" + (kept + 1) + " t" + (kept + 2) + " ");

      String question = follower.messages().values().iterator().next().id;
      HttpResponse<String> userMessage = node.post("/api/chat/continue",
          "{\"session_id\":\"cont-cancel\",\"message_id\":\"" + question + "\"}");
      assertThat(userMessage.statusCode()).isEqualTo(400);
      assertThat(node.post("/api/chat/continue", "{\"session_id\":\"cont-cancel\",\"message_id\":\"nope\"}").statusCode())
          .isEqualTo(404);
      assertThat(node.post("/api/chat/continue", "{\"session_id\":\"cont-cancel\",\"message_id\":7}").statusCode())
          .isEqualTo(400);
      assertThat(node.post("/api/chat/regenerate", "{\"session_id\":\"cont-cancel\",\"client_message_id\":\"bad id!\"}")
          .statusCode()).isEqualTo(400);

      node.ai.script(Script.tokens(3, 2));
      HttpResponse<String> regenerated = node.post("/api/chat/regenerate",
          "{\"session_id\":\"cont-cancel\",\"client_message_id\":\"again-1\"}");
      assertThat(regenerated.statusCode()).isEqualTo(202);
      socket.until("complete");
      HttpResponse<String> repeated = node.post("/api/chat/regenerate",
          "{\"session_id\":\"cont-cancel\",\"client_message_id\":\"again-1\"}");
      assertThat(repeated.statusCode()).isEqualTo(202);
      assertThat(new JsonObject(repeated.body())).isEqualTo(new JsonObject(regenerated.body()));
    }
    assertThat(follower.violations()).isEmpty();
    JsonArray history = node.history("cont-cancel").getJsonArray("messages");
    assertThat(history).as("question, cancelled answer, its continuation, one regenerated answer").hasSize(4);
  }

  @Test
  void continueAfterAFailedAnswer() throws Exception {
    node.ai.script(Script.tokens(10, 5).droppingAfter(3));
    try (TestSocket socket = node.connect("session_id=cont-failed")) {
      socket.next();
      socket.send(message("fragile", null));
      JsonObject failed = socket.until("complete");
      assertThat(failed.getString("status")).isEqualTo("failed");
      assertThat(failed.containsKey("finish_reason")).isFalse();
      node.ai.script(Script.tokens(10, 2));
      socket.send(continueFrame(failed.getString("message_id")));
      assertThat(socket.until("stream_start").getString("continues")).isEqualTo(failed.getString("message_id"));
      JsonObject rest = socket.until("complete");
      assertThat(failed.getString("content") + rest.getString("content")).isEqualTo(expectedAnswer(10));
    }
  }
}
