package io.streamchat.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.FrameBatch;
import io.streamchat.protocol.FrameBatch.Frame;
import io.streamchat.protocol.SessionCommand.Attach;
import io.streamchat.protocol.SessionCommand.Credit;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class AttachedConnectionsTest {

  private static final int WINDOW = 3;
  private static final Frame SNAPSHOT = new Frame(0, "history", "{\"type\":\"history\"}");

  private final EventLog log = new EventLog(4, 0);
  private final List<String> deliveredTo = new ArrayList<>();
  private final List<FrameBatch> delivered = new ArrayList<>();
  private final AttachedConnections connections = new AttachedConnections(log, 7, WINDOW, () -> SNAPSHOT,
      (gateway, batch) -> {
        deliveredTo.add(gateway);
        delivered.add(batch);
      });

  private void append(long seq) {
    log.append(new LoggedEvent(seq, LoggedEvent.CHUNK, "{\"seq\":" + seq + "}", "m", (int) seq - 1, null), seq);
  }

  private static Attach attach(String connectionId, int generation, String gateway) {
    return new Attach(connectionId, generation, gateway, null, null, null, false);
  }

  private List<String> framesSent() {
    return delivered.stream().flatMap(batch -> batch.frames().stream())
        .map(frame -> frame.seq() > 0 ? "event " + frame.seq() : frame.type()).toList();
  }

  @Test
  void aConnectionGetsTheEventsAfterItsCursorNoMoreThanItsWindowUntilItReportsWhatItReceived() {
    Connection connection = connections.open(attach("c1", 1, "gw-a"), 0);
    LongStream.rangeClosed(1, 4).forEach(this::append);
    connections.pumpAll(0);
    assertThat(framesSent()).containsExactly("event 1", "event 2", "event 3");
    assertThat(delivered).allSatisfy(batch -> assertThat(batch.fence()).isEqualTo(7));

    connections.credit(new Credit("c1", 1, 2, false), 10);
    assertThat(framesSent()).containsExactly("event 1", "event 2", "event 3", "event 4");
    assertThat(connection.inFlight()).isEqualTo(2);

    connections.credit(new Credit("c1", 2, 4, false), 20);
    assertThat(connection.inFlight()).as("the progress of another attachment does not count").isEqualTo(2);
  }

  @Test
  void aReplyComesAfterTheEventsThatPrecededItsDecision() {
    Connection connection = connections.open(attach("c1", 1, "gw-a"), 0);
    append(1);
    AttachedConnections.queue(connection, 1, new Frame(0, "cancel_ack", "{}"));
    append(2);
    connections.pumpAll(0);
    assertThat(framesSent()).containsExactly("event 1", "cancel_ack", "event 2");
  }

  @Test
  void aConnectionBehindWhatTheLogHoldsStartsOverFromASnapshotAndKeepsItsPendingReplies() {
    Connection connection = connections.open(attach("c1", 1, "gw-a"), 0);
    LongStream.rangeClosed(1, 3).forEach(this::append);
    connections.pumpAll(0);
    LongStream.rangeClosed(4, 10).forEach(this::append); // the log keeps 4 events: 7 to 10
    AttachedConnections.queue(connection, 10, new Frame(0, "cancel_ack", "{}"));
    delivered.clear();

    connections.credit(new Credit("c1", 1, 3, false), 10);
    assertThat(framesSent()).containsExactly("recovery_status", "history", "cancel_ack");
    assertThat(connection.nextSeq).as("the snapshot covers every event so far").isEqualTo(11);
  }

  @Test
  void theSameAttachmentTwiceIsOneAndAnAttachmentThroughAnotherGatewayDetachesTheFirst() {
    assertThat(connections.open(attach("c1", 1, "gw-a"), 0)).isNotNull();
    assertThat(connections.open(attach("c1", 1, "gw-a"), 0)).as("a repeat").isNull();

    assertThat(connections.open(attach("c1", 2, "gw-b"), 0)).isNotNull();
    assertThat(deliveredTo).containsExactly("gw-a");
    assertThat(delivered.get(0).frames()).extracting(Frame::type).containsExactly(FrameBatch.DETACHED);
    assertThat(connections.contains("c1")).isTrue();
  }

  @Test
  void repliesThatPileUpUnreadAreRefusedSoThatAConnectionsMemoryStaysBounded() {
    Connection connection = connections.open(attach("c1", 1, "gw-a"), 0);
    LongStream.rangeClosed(1, 3).forEach(this::append);
    connections.pumpAll(0); // the window is full: replies now wait
    for (int i = 0; i < WINDOW; i++) {
      AttachedConnections.queue(connections.replyTarget("c1"), 3, new Frame(0, "cancel_ack", "{}"));
    }
    assertThatThrownBy(() -> connections.replyTarget("c1")).isInstanceOfSatisfying(ChatException.class,
        refusal -> assertThat(refusal.code()).isEqualTo(ErrorCode.RATE_LIMITED));
    assertThat(connection.replies).hasSize(WINDOW);
    assertThat(connections.replyTarget("unknown")).isNull();
  }

  @Test
  void connectionsNotHeardFromAreDroppedAndDetachAllHandsBackTheRest() {
    connections.open(attach("quiet", 1, "gw-a"), 0);
    connections.open(attach("talking", 1, "gw-a"), 0);
    connections.credit(new Credit("talking", 1, 0, true), 900);
    connections.dropSilent(1000, 500);
    assertThat(connections.contains("quiet")).isFalse();
    assertThat(connections.detachAll()).extracting(connection -> connection.id).containsExactly("talking");
    assertThat(connections.isEmpty()).isTrue();
  }
}
