package io.streamchat.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** The write-behind queue alone: a scripted sink and a manual clock. */
class WriteBehindTest {

  private static final long WAIT_WITHIN_MS = 60_000;

  private final List<Runnable> due = new ArrayList<>();
  /** The waiters' time limits, run only when a test says so. */
  private final List<Map.Entry<Long, Runnable>> waitLimits = new ArrayList<>();
  private final List<Long> delays = new ArrayList<>();
  private final List<List<Integer>> written = new ArrayList<>();
  private final List<Consumer<Throwable>> callbacks = new ArrayList<>();
  private int failuresReported;

  private final AppendPipeline.Clock clock = new AppendPipeline.Clock() {
    @Override
    public long nowMs() {
      return 0;
    }

    @Override
    public Timer schedule(long delayMs, Runnable task) {
      if (delayMs >= WAIT_WITHIN_MS) {
        Map.Entry<Long, Runnable> limit = Map.entry(delayMs, task);
        waitLimits.add(limit);
        return () -> waitLimits.remove(limit);
      }
      delays.add(delayMs);
      due.add(task);
      return () -> due.remove(task);
    }
  };

  private final WriteBehind<Integer> queue = new WriteBehind<>((batch, done) -> {
    written.add(List.copyOf(batch));
    callbacks.add(done);
  }, clock, 3, 5, (count, failure) -> failuresReported = count);

  private void runOut(long withinMs) {
    List<Map.Entry<Long, Runnable>> expired = waitLimits.stream().filter(limit -> limit.getKey() == withinMs).toList();
    waitLimits.removeAll(expired);
    expired.forEach(limit -> limit.getValue().run());
  }

  private void runDue() {
    List<Runnable> now = new ArrayList<>(due);
    due.clear();
    now.forEach(Runnable::run);
  }

  @Test
  void aWaiterIsToldOnceTheBatchThatWritesTheLastOfItsItemsSucceeded() {
    List<String> told = new ArrayList<>();
    queue.whenWritten(item -> item == 9, WAIT_WITHIN_MS, written -> told.add("nothing pending: " + written));
    assertThat(told).containsExactly("nothing pending: true");
    for (int i = 1; i <= 4; i++) {
      queue.offer(i);
    }
    queue.whenWritten(item -> item == 4, WAIT_WITHIN_MS, written -> told.add("4 written: " + written));
    runDue();
    callbacks.get(0).accept(null);
    assertThat(told).as("4 is in the next batch").hasSize(1);
    runDue();
    callbacks.get(1).accept(new IllegalStateException("refused"));
    assertThat(told).as("a failed batch wrote nothing").hasSize(1);
    runDue();
    callbacks.get(2).accept(null);
    assertThat(told).containsExactly("nothing pending: true", "4 written: true");
    assertThat(waitLimits).as("the time limit of a waiter told is cancelled").isEmpty();
  }

  @Test
  void aWaiterWhoseItemsAreStillPendingWhenItsTimeRunsOutIsToldSoOnce() {
    List<Boolean> told = new ArrayList<>();
    queue.offer(1);
    queue.offer(2);
    queue.whenWritten(item -> item == 2, WAIT_WITHIN_MS, told::add);
    queue.whenWritten(item -> item == 1, WAIT_WITHIN_MS * 2, told::add);
    runDue();
    callbacks.get(0).accept(new IllegalStateException("PostgreSQL is away"));
    runOut(WAIT_WITHIN_MS);
    assertThat(told).containsExactly(false);
    runDue();
    callbacks.get(1).accept(null);
    assertThat(told).as("the other waiter, still in its time, is told when written; the first is not told again")
        .containsExactly(false, true);
    assertThat(waitLimits).isEmpty();
  }

  @Test
  void aWaiterThatThrowsDoesNotKeepTheOthersWaiting() {
    List<Boolean> told = new ArrayList<>();
    queue.offer(1);
    queue.whenWritten(item -> item == 1, WAIT_WITHIN_MS, written -> {
      throw new IllegalStateException("the reply could not be sent");
    });
    queue.whenWritten(item -> item == 1, WAIT_WITHIN_MS, told::add);
    runDue();
    callbacks.get(0).accept(null);
    assertThat(told).containsExactly(true);
  }

  @Test
  void itemsAreWrittenInOrderInBatchesOneAtATime() {
    for (int i = 1; i <= 4; i++) {
      queue.offer(i);
    }
    runDue();
    assertThat(written).containsExactly(List.of(1, 2, 3));
    queue.offer(5);
    runDue();
    assertThat(written).as("one batch in flight").hasSize(1);
    callbacks.get(0).accept(null);
    runDue();
    assertThat(written.get(1)).containsExactly(4, 5);
    callbacks.get(1).accept(null);
    assertThat(queue.pending()).isZero();
  }

  @Test
  void aFailedBatchIsRetriedWithBackoffBeforeAnythingAfterIt() {
    queue.offer(1);
    queue.offer(2);
    runDue();
    callbacks.get(0).accept(new IllegalStateException("down"));
    assertThat(failuresReported).isEqualTo(1);
    assertThat(delays.get(delays.size() - 1)).isPositive();
    queue.offer(3);
    runDue();
    assertThat(written.get(1)).as("the failed items again, first, then what came since").containsExactly(1, 2, 3);
    callbacks.get(1).accept(new IllegalStateException("still down"));
    assertThat(delays.get(delays.size() - 1)).as("longer each time").isGreaterThan(delays.get(delays.size() - 2));
    runDue();
    assertThat(written.get(2)).containsExactly(1, 2, 3);
    callbacks.get(2).accept(null);
    runDue();
    assertThat(written).hasSize(3);
    assertThat(queue.pending()).isZero();
  }

  @Test
  void atTheBoundItIsFullYetNothingOfferedIsDropped() {
    for (int i = 1; i <= 5; i++) {
      queue.offer(i);
    }
    assertThat(queue.full()).isTrue();
    queue.offer(6);
    assertThat(queue.pending()).isEqualTo(6);
    assertThat(queue.anyPending(i -> i == 6)).isTrue();
    runDue();
    callbacks.get(0).accept(null);
    assertThat(queue.full()).isFalse();
    runDue();
    assertThat(written.get(1)).containsExactly(4, 5, 6);
    assertThat(queue.anyPending(i -> i == 1)).isFalse();
  }
}
