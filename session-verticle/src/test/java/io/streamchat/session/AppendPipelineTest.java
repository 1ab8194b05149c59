package io.streamchat.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.protocol.CacheCommand.Append;
import io.streamchat.protocol.CacheCommand.AppendOutcome;
import io.streamchat.protocol.CacheCommand.AppendResult;
import io.streamchat.protocol.CacheCommand.StoredEvent;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

/** The append pipeline alone: a scripted storage, a manual clock. */
class AppendPipelineTest {

  private final List<List<Append>> batches = new ArrayList<>();
  private final Queue<BiConsumer<List<AppendResult>, Throwable>> pending = new ArrayDeque<>();
  private record Task(long dueMs, Runnable run) {
  }

  private final List<Task> scheduled = new ArrayList<>();
  private final List<String> failures = new ArrayList<>();
  private long now;

  private AppendPipeline pipeline(long lingerMs) {
    return new AppendPipeline(
      (batch, done) -> {
        batches.add(batch);
        pending.add(done);
      },
      new AppendPipeline.Clock() {
        @Override
        public long nowMs() {
          return now;
        }

        @Override
        public Timer schedule(long delayMs, Runnable task) {
          Task scheduledTask = new Task(now + delayMs, task);
          scheduled.add(scheduledTask);
          return () -> scheduled.remove(scheduledTask);
        }
      },
      (sessionId, failure) -> failures.add(sessionId), 100, lingerMs);
  }

  private final AppendPipeline pipeline = pipeline(0);

  private static final class FakeLog implements AppendPipeline.Log {
    final String id;
    long lastSeq;
    long storedSeq;
    boolean fenced;

    FakeLog(String id) {
      this.id = id;
    }

    void add(int events) {
      lastSeq += events;
    }

    @Override
    public String sessionId() {
      return id;
    }

    @Override
    public long fence() {
      return 7;
    }

    @Override
    public String userId() {
      return "u";
    }

    @Override
    public List<StoredEvent> unstored(int max) {
      List<StoredEvent> events = new ArrayList<>();
      for (long seq = storedSeq + 1; seq <= lastSeq && events.size() < max; seq++) {
        events.add(new StoredEvent(seq, "chunk", "{}", null, null));
      }
      return events;
    }

    @Override
    public boolean hasUnstored() {
      return storedSeq < lastSeq;
    }

    @Override
    public void stored(long seq) {
      storedSeq = seq;
    }

    @Override
    public void fenced() {
      fenced = true;
    }
  }

  /** Runs the scheduled tasks whose time has come. */
  private void runScheduled() {
    List<Task> due = scheduled.stream().filter(task -> task.dueMs() <= now).toList();
    scheduled.removeAll(due);
    due.forEach(task -> task.run().run());
  }

  private void reply(List<AppendResult> results, Throwable failure) {
    pending.remove().accept(results, failure);
  }

  private static AppendResult stored(long seq) {
    return new AppendResult(AppendOutcome.STORED, seq);
  }

  @Test
  void manySessionsShareOneBatchAndOneBatchIsInFlightAtATime() {
    FakeLog a = new FakeLog("a");
    FakeLog b = new FakeLog("b");
    a.add(2);
    b.add(3);
    pipeline.mark(a);
    pipeline.mark(b);
    runScheduled();
    assertThat(batches).hasSize(1);
    assertThat(batches.get(0)).extracting(Append::sessionId).containsExactly("a", "b");
    a.add(1);
    pipeline.mark(a);
    runScheduled();
    assertThat(batches).as("the next batch waits for the one in flight").hasSize(1);
    reply(List.of(stored(2), stored(3)), null);
    runScheduled();
    assertThat(batches).hasSize(2);
    assertThat(batches.get(1).get(0).events()).extracting(StoredEvent::seq).containsExactly(3L);
    reply(List.of(stored(3)), null);
    assertThat(a.storedSeq).isEqualTo(3);
    assertThat(b.storedSeq).isEqualTo(3);
  }

  @Test
  void withALingerASessionsEventsOfTheWindowGoTogetherAndTheNextBatchWaitsAsLong() {
    AppendPipeline lingering = pipeline(50);
    FakeLog a = new FakeLog("a");
    a.add(1);
    lingering.mark(a);
    now = 20;
    a.add(1);
    lingering.mark(a);
    runScheduled();
    assertThat(batches).as("the window is still open").isEmpty();
    now = 50;
    runScheduled();
    assertThat(batches).singleElement().satisfies(batch ->
        assertThat(batch.get(0).events()).extracting(StoredEvent::seq).containsExactly(1L, 2L));
    a.add(1);
    lingering.mark(a);
    now = 60;
    reply(List.of(stored(2)), null);
    runScheduled();
    assertThat(batches).as("events that came while a batch was out wait a window from its reply").hasSize(1);
    now = 110;
    runScheduled();
    assertThat(batches).hasSize(2);
    assertThat(batches.get(1).get(0).events()).extracting(StoredEvent::seq).containsExactly(3L);
  }

  @Test
  void aFencedSessionIsDroppedAndTheOthersAreStored() {
    FakeLog a = new FakeLog("a");
    FakeLog b = new FakeLog("b");
    a.add(1);
    b.add(1);
    pipeline.mark(a);
    pipeline.mark(b);
    runScheduled();
    reply(List.of(new AppendResult(AppendOutcome.FENCED, -1), stored(1)), null);
    assertThat(a.fenced).isTrue();
    assertThat(b.storedSeq).isEqualTo(1);
    a.add(1);
    pipeline.forget(a);
    pipeline.mark(b);
    runScheduled();
    assertThat(batches).hasSize(1);
  }

  @Test
  void aFailedBatchIsRetriedInOrderAfterABackoffAndReportedOnce() {
    FakeLog a = new FakeLog("a");
    a.add(2);
    pipeline.mark(a);
    runScheduled();
    reply(null, new RuntimeException("redis down"));
    runScheduled();
    assertThat(batches).as("not before the backoff").hasSize(1);
    now = 10_000;
    runScheduled();
    assertThat(batches).hasSize(2);
    reply(null, new RuntimeException("still down"));
    assertThat(failures).containsExactly("a");
    now = 20_000;
    a.add(1);
    runScheduled();
    assertThat(batches.get(2).get(0).events()).extracting(StoredEvent::seq).containsExactly(1L, 2L, 3L);
    reply(List.of(stored(3)), null);
    assertThat(a.storedSeq).isEqualTo(3);
    assertThat(pipeline.failing()).isZero();
  }

  @Test
  void aSessionBackingOffHoldsUpNoOtherAndAForgottenOneIsNotRetried() {
    FakeLog failing = new FakeLog("failing");
    failing.add(1);
    pipeline.mark(failing);
    runScheduled();
    reply(null, new RuntimeException("this session's append failed"));
    FakeLog healthy = new FakeLog("healthy");
    healthy.add(1);
    pipeline.mark(healthy);
    runScheduled();
    assertThat(batches).as("the healthy session does not wait for the other's backoff").hasSize(2);
    assertThat(batches.get(1)).extracting(Append::sessionId).containsExactly("healthy");
    pipeline.forget(healthy);
    reply(List.of(stored(1)), null);
    assertThat(healthy.storedSeq).as("a forgotten session's result is ignored").isZero();
    now = 10_000;
    runScheduled();
    assertThat(batches.get(2)).extracting(Append::sessionId).containsExactly("failing");
  }
}
