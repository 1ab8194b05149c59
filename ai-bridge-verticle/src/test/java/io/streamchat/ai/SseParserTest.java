package io.streamchat.ai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SseParserTest {

  private final List<String> events = new ArrayList<>();
  private final SseParser parser = new SseParser(this::collect, 64);

  private void collect(byte[] data, int length) {
    events.add(new String(data, 0, length, StandardCharsets.UTF_8));
  }

  @Test
  void eventsSplitAnywhereEvenInsideACharacterComeOutWhole() {
    byte[] stream = "data: {\"t\":\"héllo €\"}\n\ndata: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);
    for (byte b : stream) {
      parser.feed(new byte[] {b});
    }
    assertThat(events).containsExactly("{\"t\":\"héllo €\"}", "[DONE]");
  }

  @Test
  void crlfAndCrLineEndingsCommentsAndMultiLineData() {
    parser.feed(": keep-alive\r\n\r\ndata: a\r\ndata: b\r\n\r\nevent: x\rdata:c\r\r".getBytes(StandardCharsets.UTF_8));
    assertThat(events).containsExactly("a\nb", "c");
  }

  @Test
  void aCrlfSplitBetweenTwoPacketsIsOneLineEnd() {
    parser.feed("data: a\r".getBytes(StandardCharsets.UTF_8));
    parser.feed("\n\r\n".getBytes(StandardCharsets.UTF_8));
    assertThat(events).containsExactly("a");
  }

  @Test
  void aLastEventWithoutBlankLineCountsAtTheEnd() {
    byte[] bytes = "data: one\n\ndata: two".getBytes(StandardCharsets.UTF_8);
    parser.feed(Arrays.copyOfRange(bytes, 0, 7));
    parser.feed(Arrays.copyOfRange(bytes, 7, bytes.length));
    parser.end();
    assertThat(events).containsExactly("one", "two");
  }

  @Test
  void anEventOverTheBoundIsRefusedWhateverHowItArrives() {
    parser.feed("data: small\n\n".getBytes(StandardCharsets.UTF_8));
    assertThatThrownBy(() -> {
      for (int i = 0; i < 10; i++) {
        parser.feed("data: 0123456789\n".getBytes(StandardCharsets.UTF_8));
      }
    }).isInstanceOf(SseParser.EventTooLarge.class);
    SseParser lines = new SseParser(this::collect, 64);
    assertThatThrownBy(() -> lines.feed(new byte[100])).isInstanceOf(SseParser.EventTooLarge.class);
    assertThat(events).containsExactly("small");
  }
}
