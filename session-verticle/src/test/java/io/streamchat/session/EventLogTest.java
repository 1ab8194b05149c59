package io.streamchat.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class EventLogTest {

  private static LoggedEvent event(long seq) {
    return new LoggedEvent(seq, "chunk", "{\"seq\":" + seq + "}", "m", (int) seq, null);
  }

  @Test
  void keepsRetainedEventsAndNeverForgetsUnstoredOnes() {
    EventLog log = new EventLog(3, 0);
    LongStream.rangeClosed(1, 10).forEach(seq -> log.append(event(seq), 0));
    assertThat(log.firstSeq()).as("nothing stored: nothing forgotten").isEqualTo(1);
    log.trim(6);
    assertThat(log.firstSeq()).isEqualTo(7);
    assertThat(log.get(7).seq()).isEqualTo(7);
    assertThat(log.get(6)).isNull();
    log.trim(10);
    assertThat(log.firstSeq()).isEqualTo(8);
    assertThat(log.size()).isEqualTo(3);
  }

  @Test
  void servesCursorsOnlyWhenEveryLaterEventIsHeld() {
    EventLog log = new EventLog(2, 0);
    LongStream.rangeClosed(1, 5).forEach(seq -> log.append(event(seq), seq));
    assertThat(log.canServeAfter(5)).isTrue();
    assertThat(log.canServeAfter(3)).isTrue();
    assertThat(log.canServeAfter(2)).isFalse();
    assertThat(log.canServeAfter(6)).as("ahead of the log").isFalse();
    assertThat(log.countChunksAfter(3)).isEqualTo(2);
  }

  @Test
  void restoreKeepsOnlyTheContiguousRunEndingAtTheLastSeq() {
    EventLog log = new EventLog(10, 9);
    log.restore(List.of(event(2), event(3), event(5), event(6), event(7), event(8), event(9)));
    assertThat(log.firstSeq()).isEqualTo(5);
    assertThat(log.lastSeq()).isEqualTo(9);
    log.append(event(10), 9);
    assertThat(log.get(10).seq()).isEqualTo(10);
  }

  @Test
  void growsAcrossTheRingBoundary() {
    EventLog log = new EventLog(50, 0);
    LongStream.rangeClosed(1, 500).forEach(seq -> log.append(event(seq), seq - 1));
    assertThat(log.size()).isEqualTo(50);
    LongStream.rangeClosed(451, 500).forEach(seq -> assertThat(log.get(seq).seq()).isEqualTo(seq));
  }
}
