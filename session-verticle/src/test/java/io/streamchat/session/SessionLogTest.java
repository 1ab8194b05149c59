package io.streamchat.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.protocol.CacheCommand.StoredEvent;
import io.streamchat.protocol.SessionCommand.Attach;
import io.streamchat.protocol.SessionCommand.Credit;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SessionLogTest {

  private final List<Long> published = new ArrayList<>();
  private final List<String> storedEnds = new ArrayList<>();
  private int persists;

  private final SessionLog.Outlet outlet = new SessionLog.Outlet() {
    @Override
    public void publish(LoggedEvent event) {
      published.add(event.seq());
    }

    @Override
    public void persist() {
      persists++;
    }

    @Override
    public void answerStored(String messageId, String generatorAddress) {
      storedEnds.add(messageId + "@" + generatorAddress);
    }
  };

  private final EventLog log = new EventLog(100, 0);
  private final AttachedConnections connections = new AttachedConnections(log, 1, 2, () -> null, (gateway, batch) -> {
  });
  private final SessionLog events = new SessionLog(log, connections, outlet, 0);

  private LoggedEvent append(String type, String messageId) {
    return events.append(type, "{\"type\":\"" + type + "\",\"seq\":" + events.nextSeq() + "}", messageId, 0, null);
  }

  @Test
  void eachEventIsPublishedAndWaitsForStorageUntilStored() {
    append(LoggedEvent.CHUNK, "m");
    append(LoggedEvent.CHUNK, "m");
    append(LoggedEvent.CHUNK, "m");

    assertThat(published).containsExactly(1L, 2L, 3L);
    assertThat(persists).isEqualTo(3);
    assertThat(events.unstoredCount()).isEqualTo(3);
    assertThat(events.unstored(2)).extracting(StoredEvent::seq).containsExactly(1L, 2L);

    events.stored(2);
    assertThat(events.storedSeq()).isEqualTo(2);
    assertThat(events.unstored(10)).extracting(StoredEvent::seq).containsExactly(3L);

    events.stored(1);
    assertThat(events.storedSeq()).as("storage never goes back").isEqualTo(2);
    events.stored(99);
    assertThat(events.storedSeq()).as("never past what was appended").isEqualTo(3);
    assertThat(events.unstored(10)).isEmpty();
  }

  @Test
  void theGeneratorOfAnEndedAnswerHearsOnceAndOnlyWhenItsEndIsStored() {
    append(LoggedEvent.CHUNK, "m");
    LoggedEvent end = append(LoggedEvent.COMPLETE, "m");
    events.tellWhenStored(end, "bridge-a");

    events.stored(1);
    assertThat(storedEnds).isEmpty();
    events.stored(2);
    assertThat(storedEnds).containsExactly("m@bridge-a");
    append(LoggedEvent.CHUNK, "n");
    events.stored(3);
    assertThat(storedEnds).containsExactly("m@bridge-a");
  }

  @Test
  void aStoredChunkRendersTheSameJsonAgainInsteadOfHoldingIt() {
    LoggedEvent chunk = events.append(LoggedEvent.chunk(events.nextSeq(), "m", 0, "caf\u00e9 \"quoted\"\n"));
    LoggedEvent other = append(LoggedEvent.USER_MESSAGE, "u");
    String live = chunk.json();
    assertThat(chunk.json()).as("held while it is not stored").isSameAs(live);

    events.stored(2);
    assertThat(chunk.json()).as("rendered again").isNotSameAs(live).isEqualTo(live);
    assertThat(chunk.frame().json()).isEqualTo(live);
    assertThat(chunk.chunkContent()).isEqualTo("caf\u00e9 \"quoted\"\n");
    assertThat(other.json()).as("only chunks are rendered again").isSameAs(other.json());
    assertThat(SessionFrames.readChunk(live).content()).isEqualTo(chunk.chunkContent());
  }

  @Test
  void aStoredChunkKeepsItsJsonUntilEveryConnectionWasSentIt() {
    connections.open(new Attach("c1", 1, "gw", null, null, null, false), 0);
    List<LoggedEvent> chunks = new ArrayList<>();
    for (int index = 0; index < 4; index++) {
      chunks.add(events.append(LoggedEvent.chunk(events.nextSeq(), "m", index, "t" + index)));
    }
    List<String> rendered = chunks.stream().map(LoggedEvent::json).toList();

    events.stored(4);
    assertThat(chunks.get(1).json()).as("sent (the window is 2): let go").isNotSameAs(rendered.get(1));
    assertThat(chunks.get(2).json()).as("not sent yet: kept for the connection").isSameAs(rendered.get(2));
    connections.credit(new Credit("c1", 1, 4, false), 10);
    append(LoggedEvent.USER_MESSAGE, "u");
    events.stored(5);
    assertThat(chunks.get(3).json()).as("sent since, and stored: let go").isNotSameAs(rendered.get(3))
        .isEqualTo(rendered.get(3));
  }
}
