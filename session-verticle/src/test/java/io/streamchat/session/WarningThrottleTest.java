package io.streamchat.session;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class WarningThrottleTest {

  @Test
  void theFirstFailureWarnsThenOneWarningPerIntervalTellsHowManyWentUnreported() {
    WarningThrottle throttle = new WarningThrottle(5000);
    assertThat(throttle.warnNow(1_000)).isZero();
    assertThat(throttle.warnNow(1_001)).isEqualTo(-1);
    assertThat(throttle.warnNow(5_999)).isEqualTo(-1);
    assertThat(throttle.warnNow(6_000)).isEqualTo(2);
    assertThat(throttle.warnNow(11_000)).isZero();
  }
}
