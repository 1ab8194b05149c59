package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.testkit.EventStream;
import io.streamchat.testkit.EventStream.Event;
import io.streamchat.testkit.FakeOpenAi.Script;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The Server-Sent Events transport: the same events, ids that are cursors, exact resume with Last-Event-ID. */
class EventStreamTest {

  private static final Duration WAIT = Duration.ofSeconds(15);
  @RegisterExtension
  static final TestNode node = TestNode.perClass(new JsonObject());

  /** The protocol's client rule over SSE: apply an event only when its seq is higher; the answer's text. */
  private static final class Reader {
    String epoch;
    long seq = -1;
    final StringBuilder answer = new StringBuilder();
    final List<Long> applied = new ArrayList<>();
    boolean complete;

    void apply(Event event) {
      JsonObject data = event.data();
      switch (event.type()) {
        case "history" -> {
          epoch = data.getString("epoch");
          seq = data.getLong("seq");
          assertThat(event.id()).isEqualTo(epoch + ":" + seq);
        }
        case "recovery_status" -> assertThat(event.id()).as("a reply has no id").isNull();
        default -> {
          long eventSeq = data.getLong("seq");
          assertThat(event.id()).isEqualTo(epoch + ":" + eventSeq);
          if (eventSeq <= seq) {
            return;
          }
          assertThat(eventSeq).as("no gap").isEqualTo(seq + 1);
          seq = eventSeq;
          applied.add(eventSeq);
          if ("chunk".equals(event.type())) {
            answer.append(data.getString("content"));
          } else if ("complete".equals(event.type())) {
            complete = true;
          }
        }
      }
    }
  }

  private static void ask(String session, String question) throws Exception {
    assertThat(node.post("/api/chat", new JsonObject().put("session_id", session).put("message", question).encode())
        .statusCode()).isEqualTo(202);
  }

  private static String storedAnswer(String session) throws Exception {
    JsonArray messages = node.history(session).getJsonArray("messages");
    return messages.getJsonObject(messages.size() - 1).getString("content");
  }

  @Test
  void anAnswerStreamsAsEventsWhoseIdsAreCursors() throws Exception {
    node.ai.script(Script.tokens(40, 2));
    Reader reader = new Reader();
    try (EventStream stream = EventStream.open(node.port, "session_id=sse-stream", null)) {
      Event first = stream.next(WAIT);
      assertThat(first.type()).isEqualTo("history");
      reader.apply(first);
      ask("sse-stream", "hello over SSE");
      while (!reader.complete) {
        reader.apply(stream.next(WAIT));
      }
    }
    assertThat(reader.answer.toString()).isEqualTo(StreamingProtocolTest.expectedAnswer(40))
        .isEqualTo(storedAnswer("sse-stream"));
    assertThat(reader.applied).hasSize(1 + 1 + 40 + 1);
  }

  @Test
  void droppedStreamsResumeExactlyFromLastEventId() throws Exception {
    node.ai.script(Script.tokens(200, 10));
    Random random = new Random(7);
    Reader reader = new Reader();
    EventStream stream = EventStream.open(node.port, "session_id=sse-drops", null);
    reader.apply(stream.next(WAIT));
    ask("sse-drops", "a long one");
    int drops = 0;
    try {
      while (!reader.complete) {
        for (int i = random.nextInt(40); i > 0 && !reader.complete; i--) {
          reader.apply(stream.next(WAIT));
        }
        if (reader.complete) {
          break;
        }
        // What this client applied last (the events the stream had read on are lost with it).
        String lastId = reader.epoch + ":" + reader.seq;
        stream.close();
        drops++;
        stream = EventStream.open(node.port, "session_id=sse-drops", lastId);
        Event status = stream.next(WAIT);
        assertThat(status.type()).isEqualTo("recovery_status");
        assertThat(status.data().getString("status")).isEqualTo("recovered");
      }
    } finally {
      stream.close();
    }
    assertThat(drops).isGreaterThan(3);
    assertThat(reader.answer.toString()).isEqualTo(StreamingProtocolTest.expectedAnswer(200))
        .isEqualTo(storedAnswer("sse-drops"));
  }

  @Test
  void aForeignOrMalformedIdGetsResetAndAFreshHistory() throws Exception {
    node.ai.script(Script.tokens(3, 1));
    ask("sse-foreign", "something to remember");
    for (int attempt = 0; attempt < 50 && node.history("sse-foreign").getJsonArray("messages").size() < 2; attempt++) {
      Thread.sleep(100);
    }
    for (String foreign : List.of("another-epoch:3", "not an id", "x:-1", "x:99999999999999999999")) {
      try (EventStream stream = EventStream.open(node.port, "session_id=sse-foreign", foreign)) {
        Event status = stream.next(WAIT);
        assertThat(status.type()).as(foreign).isEqualTo("recovery_status");
        assertThat(status.data().getString("status")).as(foreign).isEqualTo("reset");
        Event history = stream.next(WAIT);
        assertThat(history.type()).isEqualTo("history");
        assertThat(history.data().getJsonArray("messages")).hasSize(2);
        assertThat(history.id()).isEqualTo(history.data().getString("epoch") + ":" + history.data().getLong("seq"));
      }
    }
  }

  @Test
  void aBadSessionIdIsRefused() {
    try (EventStream ignored = EventStream.open(node.port, "session_id=bad%20id", null)) {
      throw new AssertionError("opened");
    } catch (IllegalStateException refused) {
      assertThat(refused.getMessage()).startsWith("HTTP 400");
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
