package io.streamchat.session;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ReclaimBackoffTest {

  @Test
  void eachLossDoublesTheWaitUpToTheMaximumAndALongQuietForgetsIt() {
    ReclaimBackoff backoff = new ReclaimBackoff(2_000, 16_000);
    long now = 1_000_000;
    assertThat(backoff.waitMs("s", now)).isZero();
    backoff.lost("s", now);
    assertThat(backoff.waitMs("s", now)).isEqualTo(2_000);
    assertThat(backoff.waitMs("s", now + 1_500)).isEqualTo(500);
    assertThat(backoff.waitMs("s", now + 2_000)).as("claims again after the wait").isZero();
    assertThat(backoff.waitMs("other", now)).isZero();

    long t = now + 2_000;
    for (long expected : new long[] {4_000, 8_000, 16_000, 16_000}) {
      backoff.lost("s", t);
      assertThat(backoff.waitMs("s", t)).isEqualTo(expected);
      t += expected;
    }
    backoff.expire(t + 16_000);
    assertThat(backoff.size()).as("not long enough after the wait").isEqualTo(1);
    backoff.expire(t + 16_001);
    assertThat(backoff.size()).isZero();
    backoff.lost("s", t + 20_000);
    assertThat(backoff.waitMs("s", t + 20_000)).as("starts over").isEqualTo(2_000);
  }
}
