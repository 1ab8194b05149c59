package io.streamchat.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A few seconds of the load tool, so that it cannot rot: it must run clean. Speed is not judged here. */
class BenchSmokeTest {

  @Test
  void aShortStreamingRunWithAStoppedReaderIsCleanAndReportsItsNumbers() throws Exception {
    BenchResult result = Bench.run(BenchOptions.parse(new String[] {
        "--sessions", "20", "--tokens", "30", "--rate", "100", "--heap", "256m", "--timeout", "60", "--warmup", "5",
        "--slow-reader", "500"}));
    System.out.println(result.report());
    assertThat(result.clean()).as(result.report()).isTrue();
    assertThat(result.latency.getTotalCount()).isEqualTo(20 * 30);
    assertThat(result.slowReaderChunks).as("the reader that stopped caught up exactly").isEqualTo(500);
  }

  @Test
  void aShortResumeStormRecoversEveryClient() throws Exception {
    BenchResult result = Bench.run(BenchOptions.parse(new String[] {
        "--mode", "storm", "--sessions", "50", "--heap", "256m", "--timeout", "60", "--warmup", "0"}));
    System.out.println(result.report());
    assertThat(result.clean()).as(result.report()).isTrue();
  }
}
