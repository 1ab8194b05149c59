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

  @Test
  void onlyTextWithoutALoneSurrogateIsWellFormed() {
    assertThat(JsonText.isWellFormed("plain, emoji 😀, 中文")).isTrue();
    assertThat(JsonText.isWellFormed("")).isTrue();
    assertThat(JsonText.isWellFormed("lone high \ud800 here")).isFalse();
    assertThat(JsonText.isWellFormed("ends high \ud83d")).isFalse();
    assertThat(JsonText.isWellFormed("\ude00 lone low first")).isFalse();
    assertThat(JsonText.isWellFormed("two highs \ud83d\ud83d\ude00")).isFalse();
  }
}
