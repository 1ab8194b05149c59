package io.streamchat.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

class JsonTextTest {

  @Test
  void quotedStringsDecodeToTheOriginal() {
    for (String value : new String[] {"", "plain", "q\"uote\\back", "line\nfeed\r\ttab", "\u0001\u001f",
        "emoji 😀 and 中文", "sep\u2028\u2029", "ends with a quote\""}) {
      String json = JsonText.quote(new StringBuilder("{\"v\":"), value).append('}').toString();
      assertThat(new JsonObject(json).getString("v")).isEqualTo(value);
    }
  }
}
