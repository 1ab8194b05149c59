package io.streamchat.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BadFramesTest {

  @Test
  void aStreamOfBadFramesIsTooManyAndAFewNowAndThenNever() {
    BadFrames frames = new BadFrames(3);
    long now = 1_000_000;
    assertThat(frames.tooMany(now)).isFalse();
    assertThat(frames.tooMany(now + 10)).isFalse();
    assertThat(frames.tooMany(now + 20)).isFalse();
    assertThat(frames.tooMany(now + 30)).as("the fourth within a minute").isTrue();

    BadFrames spread = new BadFrames(3);
    for (int i = 0; i < 100; i++) {
      assertThat(spread.tooMany(now + i * 30_000L)).as("bad frame %d, 30 s apart", i).isFalse();
    }
    long last = now + 99 * 30_000L;
    assertThat(spread.tooMany(last + 1)).isFalse();
    assertThat(spread.tooMany(last + 2)).isFalse();
    assertThat(spread.tooMany(last + 3)).as("the fourth within a minute of the last").isTrue();
  }
}
