package io.streamchat.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.protocol.AuditCommand.AuditRecord;
import io.streamchat.protocol.AuditCommand.Reconcile;
import io.streamchat.protocol.AuditCommand.Reconciled;
import io.streamchat.protocol.AuditCommand.Delivery;
import io.streamchat.protocol.AuditCommand.Outcome;
import io.streamchat.protocol.CacheCommand.AuditMark;
import io.streamchat.protocol.CacheCommand.Claimed;
import io.streamchat.protocol.CacheCommand.StoredEvent;
import io.vertx.core.json.JsonObject;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** The audit shipper alone: a scripted topic and Redis log, a manual clock. */
class AuditShipperTest {

  private final List<List<AuditRecord>> batches = new ArrayList<>();
  private final Queue<BiConsumer<List<Delivery>, Throwable>> shipping = new ArrayDeque<>();
  private final List<Reconcile> reconciles = new ArrayList<>();
  private final Queue<BiConsumer<Reconciled, Throwable>> reconciling = new ArrayDeque<>();
  private final List<Long> reads = new ArrayList<>();
  private final Map<Long, StoredEvent> redisLog = new HashMap<>();
  private final List<AuditMark> marks = new ArrayList<>();
  private final List<String> lost = new ArrayList<>();
  private final List<String> fencedOut = new ArrayList<>();
  private boolean fenced;
  private final List<Runnable> scheduled = new ArrayList<>();
  private int pauses;
  private long now = 1_000_000;

  private final AuditShipper shipper = newShipper(true);

  private AuditShipper newShipper(boolean chunks) {
    return new AuditShipper(
      new AuditShipper.Topic() {
        @Override
        public void ship(List<AuditRecord> records, long createdAtMs, BiConsumer<List<Delivery>, Throwable> done) {
          batches.add(records);
          shipping.add(done);
        }

        @Override
        public void reconcile(Reconcile request, BiConsumer<Reconciled, Throwable> done) {
          reconciles.add(request);
          reconciling.add(done);
        }
      },
      new AuditShipper.Storage() {
        @Override
        public void read(String sessionId, long afterSeq, int max, BiConsumer<List<StoredEvent>, Throwable> done) {
          reads.add(afterSeq);
          List<StoredEvent> events = new ArrayList<>();
          for (long seq = afterSeq + 1; events.size() < max && seq <= afterSeq + 1000; seq++) {
            if (redisLog.containsKey(seq)) {
              events.add(redisLog.get(seq));
            }
          }
          done.accept(events, null);
        }

        @Override
        public void record(String sessionId, long fence, AuditMark mark, Consumer<AuditShipper.Recorded> done) {
          marks.add(mark);
          done.accept(fenced ? AuditShipper.Recorded.FENCED : AuditShipper.Recorded.RECORDED);
        }
      },
      new AppendPipeline.Clock() {
        @Override
        public long nowMs() {
          return now;
        }

        @Override
        public Timer schedule(long delayMs, Runnable task) {
          scheduled.add(task);
          return () -> scheduled.remove(task);
        }
      },
      new AuditShipper.Listener() {
        @Override
        public void written(int records) {
        }

        @Override
        public void failed(String sessionId, Throwable failure) {
        }

        @Override
        public void lost(String sessionId, long events, String why) {
          lost.add(events + ": " + why);
        }

        @Override
        public void fenced(AuditShipper.Source source) {
          fencedOut.add(source.sessionId());
        }

        @Override
        public void reconciled(String sessionId, long seq, long known) {
        }

        @Override
        public void paused() {
          pauses++;
        }
      },
      "n1", chunks, 100, 10_000);
  }

  /** A session whose events 1..storedSeq are stored; memory holds those from {@code heldFrom} on. */
  private static final class FakeSession implements AuditShipper.Source {
    final AuditCursor cursor;
    long storedSeq;
    long heldFrom = 1;

    FakeSession(AuditCursor cursor) {
      this.cursor = cursor;
    }

    @Override
    public String sessionId() {
      return "s";
    }

    @Override
    public long fence() {
      return 7;
    }

    @Override
    public String userId() {
      return "alice";
    }

    @Override
    public long storedSeq() {
      return storedSeq;
    }

    @Override
    public LoggedEvent heldEvent(long seq) {
      return seq >= heldFrom && seq <= storedSeq ? event(seq) : null;
    }

    @Override
    public AuditCursor audit() {
      return cursor;
    }
  }

  private static LoggedEvent event(long seq) {
    String type = seq % 10 == 1 ? "user_message" : "chunk";
    return new LoggedEvent(seq, type, "{\"type\":\"" + type + "\",\"seq\":" + seq + "}", "m", (int) seq, null);
  }

  private static Claimed claimed(long lastSeq, AuditMark mark) {
    return new Claimed(9, "e2", !mark.exact(), lastSeq, "alice", List.of(), List.of(), List.of(), "1:e1,6:e2", mark,
        5_000_000_000L);
  }

  /** Time passes as it does in a running verticle: a beat every 250 ms. */
  private void advance(long ms) {
    for (long passed = 0; passed < ms; passed += 250) {
      now += Math.min(250, ms - passed);
      shipper.beat();
    }
  }

  private void runScheduled() {
    while (!scheduled.isEmpty()) {
      List<Runnable> due = new ArrayList<>(scheduled);
      scheduled.clear();
      due.forEach(Runnable::run);
    }
  }

  private void ackAll() {
    BiConsumer<List<Delivery>, Throwable> done = shipping.poll();
    List<AuditRecord> batch = batches.get(batches.size() - 1);
    List<Delivery> results = new ArrayList<>();
    for (int i = 0; i < batch.size(); i++) {
      results.add(new Delivery(Outcome.WRITTEN, 0, 100 + batch.get(i).seq()));
    }
    done.accept(results, null);
  }

  private static List<Long> seqs(List<AuditRecord> records) {
    return records.stream().map(AuditRecord::seq).toList();
  }

  @Test
  void storedEventsAreWrittenInOrderWithTheSessionUserNodeAndEpoch() {
    FakeSession session = new FakeSession(AuditCursor.claimed(claimed(0, AuditMark.NONE), now, 10_000));
    session.storedSeq = 8;
    shipper.stored(session);
    runScheduled();
    assertThat(batches).hasSize(1);
    assertThat(seqs(batches.get(0))).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L);
    JsonObject value = new JsonObject(batches.get(0).get(6).value());
    assertThat(value.getString("session_id")).isEqualTo("s");
    assertThat(value.getString("user_id")).isEqualTo("alice");
    assertThat(value.getString("node_id")).isEqualTo("n1");
    assertThat(value.getString("epoch")).isEqualTo("e2");
    assertThat(value.getLong("seq")).isEqualTo(7L);
    assertThat(new JsonObject(batches.get(0).get(2).value()).getString("epoch")).isEqualTo("e1");

    session.storedSeq = 12;
    shipper.stored(session);
    runScheduled();
    assertThat(batches).as("one batch in flight at a time").hasSize(1);
    ackAll();
    runScheduled();
    assertThat(seqs(batches.get(1))).containsExactly(9L, 10L, 11L, 12L);
    ackAll();
    assertThat(shipper.caughtUp(session)).isTrue();
    shipper.recordPositions(List.of(session));
    assertThat(marks).containsExactly(new AuditMark(12, 112, false));
  }

  @Test
  void aSessionTakenOverFromAnOwnerThatDidNotHandOffGoesOnAfterTheNewestRecordInTheTopic() {
    FakeSession session = new FakeSession(AuditCursor.claimed(claimed(20, new AuditMark(10, 110, false)), now, 10_000));
    session.storedSeq = 20;
    session.heldFrom = 100;
    for (long seq = 1; seq <= 20; seq++) {
      redisLog.put(seq, event(seq).stored());
    }
    shipper.stored(session);
    runScheduled();
    assertThat(batches).as("nothing before the previous owner's records have settled").isEmpty();
    assertThat(reconciles).isEmpty();

    advance(10_001);
    runScheduled();
    assertThat(reconciles).hasSize(1);
    assertThat(reconciles.get(0).fromOffset()).isEqualTo(110);
    assertThat(reconciles.get(0).knownSeq()).isEqualTo(10);
    assertThat(reconciles.get(0).epochs()).isEqualTo("1:e1,6:e2");
    reconciling.poll().accept(new Reconciled(15, 115, 0), null);
    runScheduled();
    assertThat(reads).containsExactly(15L);
    assertThat(seqs(batches.get(0))).containsExactly(16L, 17L, 18L, 19L, 20L);
  }

  @Test
  void aSessionWithoutAPositionReadsTheTopicFromThePreviousOwnersClaimOn() {
    FakeSession session = new FakeSession(AuditCursor.claimed(claimed(3, new AuditMark(0, -1, false)), now, 0));
    session.storedSeq = 3;
    shipper.stored(session);
    runScheduled();
    assertThat(reconciles).hasSize(1);
    assertThat(reconciles.get(0).fromOffset()).isEqualTo(-1);
    assertThat(reconciles.get(0).fromTimeMs()).isEqualTo(5_000_000L - 60_000);
    reconciling.poll().accept(new Reconciled(0, -1, 0), null);
    runScheduled();
    assertThat(seqs(batches.get(0))).containsExactly(1L, 2L, 3L);
  }

  @Test
  void aFailedBatchIsNotSentAgainBeforeTheTopicSaysWhatArrived() {
    FakeSession session = new FakeSession(AuditCursor.claimed(claimed(0, AuditMark.NONE), now, 10_000));
    session.storedSeq = 5;
    shipper.stored(session);
    runScheduled();
    List<Delivery> partly = List.of(new Delivery(Outcome.WRITTEN, 0, 101), new Delivery(Outcome.WRITTEN, 0, 102),
        Delivery.UNKNOWN, Delivery.UNKNOWN, Delivery.UNKNOWN);
    shipping.poll().accept(partly, null);
    runScheduled();
    assertThat(batches).hasSize(1);
    advance(9_999);
    runScheduled();
    assertThat(reconciles).as("not while a record the producer gave up on may still land").isEmpty();
    advance(1);
    runScheduled();
    assertThat(reconciles).hasSize(1);
    assertThat(reconciles.get(0).fromOffset()).as("after the records known to be there").isEqualTo(102);
    reconciling.poll().accept(new Reconciled(3, 103, 0), null);
    runScheduled();
    assertThat(seqs(batches.get(1))).as("the third one did arrive after all").containsExactly(4L, 5L);
  }

  @Test
  void eventsThatLeftTheRedisLogBeforeTheyWereWrittenAreCountedAsLostAndSkipped() {
    FakeSession session = new FakeSession(AuditCursor.claimed(claimed(0, AuditMark.NONE), now, 10_000));
    session.storedSeq = 30;
    session.heldFrom = 100;
    for (long seq = 21; seq <= 30; seq++) {
      redisLog.put(seq, event(seq).stored());
    }
    shipper.stored(session);
    runScheduled();
    assertThat(lost).containsExactly("20: events 1..20 left the Redis log before they reached the audit log");
    assertThat(seqs(batches.get(0))).containsExactly(21L, 22L, 23L, 24L, 25L, 26L, 27L, 28L, 29L, 30L);
  }

  @Test
  void withoutChunksTheOtherEventsAreWrittenAndThePositionMovesOverTheChunks() {
    AuditShipper withoutChunks = newShipper(false);
    FakeSession session = new FakeSession(AuditCursor.claimed(claimed(0, AuditMark.NONE), now, 10_000));
    session.storedSeq = 15;
    withoutChunks.stored(session);
    runScheduled();
    assertThat(seqs(batches.get(0))).containsExactly(1L, 11L);
    ackAll();
    assertThat(session.cursor.auditedSeq).isEqualTo(15);
    session.storedSeq = 18;
    withoutChunks.stored(session);
    runScheduled();
    assertThat(batches).as("chunks only: nothing to write").hasSize(1);
    assertThat(session.cursor.auditedSeq).isEqualTo(18);
    assertThat(withoutChunks.caughtUp(session)).isTrue();
  }

  @Test
  void afterAPauseNothingIsWrittenUntilTheVerticleKnowsItsSessions() {
    FakeSession session = new FakeSession(AuditCursor.claimed(claimed(0, AuditMark.NONE), now, 10_000));
    now += AuditShipper.PAUSE_SUSPECTED_MS + 1;
    session.storedSeq = 2;
    shipper.stored(session);
    runScheduled();
    assertThat(batches).isEmpty();
    shipper.beat();
    runScheduled();
    assertThat(pauses).isEqualTo(1);
    assertThat(batches).isEmpty();
    shipper.resume();
    runScheduled();
    assertThat(seqs(batches.get(0))).containsExactly(1L, 2L);
  }

  @Test
  void aRecordKafkaRefusesForGoodIsCountedAndTheRestGoesOn() {
    FakeSession session = new FakeSession(AuditCursor.claimed(claimed(0, AuditMark.NONE), now, 10_000));
    session.storedSeq = 3;
    shipper.stored(session);
    runScheduled();
    shipping.poll().accept(List.of(new Delivery(Outcome.WRITTEN, 0, 101), Delivery.REFUSED,
        new Delivery(Outcome.WRITTEN, 0, 103)), null);
    assertThat(session.cursor.auditedSeq).isEqualTo(3);
    assertThat(lost).hasSize(1);
    assertThat(reconciles).isEmpty();
  }

  @Test
  void recordsNeverSentAreSentAgainWithoutReadingTheTopic() {
    FakeSession session = new FakeSession(AuditCursor.claimed(claimed(0, AuditMark.NONE), now, 10_000));
    session.storedSeq = 3;
    shipper.stored(session);
    runScheduled();
    shipping.poll().accept(List.of(new Delivery(Outcome.WRITTEN, 0, 101), Delivery.NOT_SENT, Delivery.NOT_SENT), null);
    assertThat(session.cursor.auditedSeq).isEqualTo(1);
    advance(1000);
    runScheduled();
    assertThat(reconciles).isEmpty();
    assertThat(seqs(batches.get(1))).containsExactly(2L, 3L);
  }

  @Test
  void aBatchWithoutAReplyIsFollowedByAReadingOfTheTopicOnlyOnceItsRecordsCanNoLongerLand() {
    FakeSession session = new FakeSession(AuditCursor.claimed(claimed(0, AuditMark.NONE), now, 10_000));
    session.storedSeq = 3;
    shipper.stored(session);
    runScheduled();
    shipping.poll().accept(null, new RuntimeException("timeout"));
    advance(9_000);
    runScheduled();
    assertThat(reconciles).isEmpty();
    advance(1_500);
    runScheduled();
    assertThat(reconciles).hasSize(1);
  }

  @Test
  void anOwnerNotConfirmedLatelyAsksRedisFirstAndStopsWhenFencedOut() {
    FakeSession session = new FakeSession(AuditCursor.claimed(claimed(0, AuditMark.NONE), now, 10_000));
    shipper.enqueue(session);
    advance(AuditShipper.CONFIRMED_FOR_MS + 500);
    fenced = true;
    session.storedSeq = 3;
    shipper.enqueue(session);
    runScheduled();
    assertThat(marks).as("the position is recorded, which checks the fence").hasSize(1);
    assertThat(fencedOut).containsExactly("s");
    assertThat(batches).isEmpty();
  }
}
