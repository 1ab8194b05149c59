package io.streamchat.ai;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.protocol.ConfigSource;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

class AiSettingsTest {

  private static AiSettings withDrain(long drainMs) {
    return AiSettings.from(ConfigSource.of(new JsonObject().put("CHAT_AI_DRAIN_MS", drainMs)));
  }

  @Test
  void answersRunningAtShutdownLeaveTheRestOfTheDrainForStoringAndStopping() {
    assertThat(withDrain(30_000).answersDrainMs()).isEqualTo(28_500);
    assertThat(withDrain(8_000).answersDrainMs()).isEqualTo(6_500);
    assertThat(withDrain(3_000).answersDrainMs()).isEqualTo(1_500);
    assertThat(withDrain(1_000).answersDrainMs()).isEqualTo(500);
    assertThat(withDrain(0).answersDrainMs()).isZero();
  }
}
