package io.streamchat.server;

import static io.streamchat.server.StreamingProtocolTest.message;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.testkit.FakeOpenAi.Script;
import io.streamchat.testkit.PrometheusText;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * /metrics is valid Prometheus text, every series names its node, and what an answer does shows up
 * in the series an operator watches: delivery latency, time to first token, outcomes, resumes,
 * connections by transport, store writes, and Vert.x's and the JVM's own.
 */
class MetricsTest {

  private static final int MESSAGES_PER_MINUTE = 3;
  @RegisterExtension
  static final TestNode node = TestNode.perClass(
      new JsonObject().put("CHAT_LIMIT_MESSAGES_PER_MINUTE", MESSAGES_PER_MINUTE));

  private static PrometheusText scrape() throws Exception {
    var response = node.get("/metrics");
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("content-type")).hasValueSatisfying(type -> assertThat(type)
        .startsWith("text/plain"));
    return PrometheusText.parse(response.body());
  }

  @Test
  void anAnswerAndAResumeMoveTheSeriesThatMatterAndEverySeriesNamesItsNode() throws Exception {
    PrometheusText before = scrape();
    node.ai.script(Script.tokens(8, 5));
    String epoch;
    long seq;
    try (TestSocket socket = node.connect("session_id=metered")) {
      socket.next();
      PrometheusText open = scrape();
      assertThat(open.sum("chat_connections", Map.of("transport", "websocket"))).isEqualTo(1);
      assertThat(open.sum("chat_connections", Map.of("transport", "sse"))).isZero();
      socket.send(message("count me", null));
      JsonObject complete = socket.until("complete");
      seq = complete.getLong("seq");
      epoch = node.history("metered").getString("epoch");
    }
    try (TestSocket socket = node.connect("session_id=metered&last_seq=" + (seq - 3) + "&epoch=" + epoch)) {
      assertThat(socket.next().getString("status")).isEqualTo("recovered");
    }
    try (TestSocket socket = node.connect("session_id=metered&last_seq=2&epoch=another")) {
      assertThat(socket.next().getString("status")).isEqualTo("reset");
    }

    PrometheusText after = scrape();
    assertThat(after.sum("chat_chunk_delivery_seconds_count") - before.sum("chat_chunk_delivery_seconds_count"))
        .as("every chunk of the answer was timed from the provider to the socket").isGreaterThanOrEqualTo(8);
    assertThat(after.sum("chat_chunk_delivery_seconds_bucket", Map.of("le", "+Inf")))
        .isEqualTo(after.sum("chat_chunk_delivery_seconds_count"));
    assertThat(after.sum("chat_time_to_first_token_seconds_count")
        - before.sum("chat_time_to_first_token_seconds_count")).isEqualTo(1);
    assertThat(after.sum("chat_answers_total", Map.of("outcome", "completed", "error", "none"))
        - before.sum("chat_answers_total", Map.of("outcome", "completed", "error", "none"))).isEqualTo(1);
    assertThat(after.sum("chat_resumes_total", Map.of("outcome", "recovered"))).isEqualTo(1);
    assertThat(after.sum("chat_resumes_total", Map.of("outcome", "reset"))).isEqualTo(1);
    assertThat(after.sum("chat_store_writes_total", Map.of("store", "redis", "outcome", "ok"))).isPositive();
    assertThat(after.sum("chat_session_leases_total", Map.of("change", "acquired"))).isPositive();
    assertThat(after.types).containsEntry("chat_chunk_delivery_seconds", "histogram")
        .containsEntry("chat_time_to_first_token_seconds", "histogram")
        .containsEntry("chat_answers_total", "counter")
        .containsKeys("vertx_http_server_requests_total", "chat_eventbus_timeouts_total", "jvm_gc_memory_allocated_bytes_total",
            "jvm_memory_used_bytes", "process_cpu_usage");
    assertThat(after.samples).allSatisfy(sample -> assertThat(sample.labels()).containsEntry("node", "test-node"));
    assertThat(after.samples).as("no label that grows with the traffic").allSatisfy(sample ->
        assertThat(sample.labels().keySet()).doesNotContain("address", "remote", "local", "path", "session_id"));
  }

  @Test
  void aRefusedCallerIsCounted() throws Exception {
    double before = scrape().sum("chat_limit_refusals_total");
    node.ai.script(Script.tokens(2, 1));
    boolean refused = false;
    try (TestSocket socket = node.connect("session_id=metered-refusal&user_id=counted")) {
      socket.next();
      for (int i = 0; i < MESSAGES_PER_MINUTE + 2 && !refused; i++) {
        socket.send(message("again " + i, null));
        JsonObject outcome = socket.until(frame -> frame.getString("type").equals("complete")
            || frame.getString("type").equals("error"), Duration.ofSeconds(10));
        refused = outcome.getString("type").equals("error");
        if (refused) {
          assertThat(outcome.getString("code")).isEqualTo("rate_limited");
        }
      }
    }
    assertThat(refused).isTrue();
    assertThat(scrape().sum("chat_limit_refusals_total")).isGreaterThan(before);
  }
}
