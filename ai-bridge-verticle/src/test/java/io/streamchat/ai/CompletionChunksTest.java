package io.streamchat.ai;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.protocol.AnswerError;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class CompletionChunksTest {

  private final List<String> seen = new ArrayList<>();
  private final CompletionChunks chunks = new CompletionChunks(new TokenSink() {
    @Override
    public void token(String text) {
      seen.add(text);
    }

    @Override
    public void done(String finishReason) {
      seen.add(finishReason == null ? "<done>" : "<done " + finishReason + ">");
    }

    @Override
    public void failed(AnswerError code, String message) {
      seen.add("<failed " + code.wire() + ">");
    }
  });

  private static String delta(String content) {
    return "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content + "\"},\"finish_reason\":null}]}";
  }

  @Test
  void deltasBecomeTokensAndFinishReasonEndsTheAnswerOnce() {
    chunks.onData("{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}");
    chunks.onData(delta("Hel"));
    chunks.onData(delta("lo"));
    chunks.onData("{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"total_tokens\":3}}");
    chunks.onData("[DONE]");
    chunks.onEnd();
    assertThat(seen).containsExactly("Hel", "lo", "<done stop>");
  }

  @Test
  void theFinishReasonIsPassedOnAsTheProviderGaveIt() {
    chunks.onData(delta("cut"));
    chunks.onData("{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}");
    assertThat(seen).containsExactly("cut", "<done length>");
  }

  @Test
  void malformedEventsAreSkippedAndCounted() {
    chunks.onData("{not json");
    chunks.onData("[1,2]");
    chunks.onData(delta("ok"));
    chunks.onData("{\"choices\":\"weird\"}");
    chunks.onEnd();
    assertThat(seen).containsExactly("ok", "<done>");
    assertThat(chunks.malformed()).isEqualTo(2);
  }

  @Test
  void anErrorObjectMidStreamFailsTheAnswerKeepingWhatCameBefore() {
    chunks.onData(delta("partial"));
    chunks.onData("{\"error\":{\"message\":\"overloaded\"}}");
    chunks.onData(delta("ignored"));
    assertThat(seen).containsExactly("partial", "<failed provider_error>");
  }

  @Test
  void eventsAreReadFromTheirBytesOnlyUpToTheirLength() {
    byte[] buffer = new byte[200];
    Arrays.fill(buffer, (byte) '}');
    byte[] event = delta("h\u00e9llo \u20ac \\\"q\\\"").getBytes(StandardCharsets.UTF_8);
    System.arraycopy(event, 0, buffer, 0, event.length);
    chunks.onData(buffer, event.length);
    byte[] done = " [DONE] \n".getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(done, 0, buffer, 0, done.length);
    chunks.onData(buffer, done.length);
    assertThat(seen).containsExactly("h\u00e9llo \u20ac \"q\"", "<done>");
    assertThat(chunks.malformed()).isZero();
  }
}
