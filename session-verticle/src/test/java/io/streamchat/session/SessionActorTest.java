package io.streamchat.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamchat.protocol.AiCommand.ContextMessage;
import io.streamchat.protocol.AnswerStatus;
import io.streamchat.protocol.CancelStatus;
import io.streamchat.protocol.CacheCommand.Claimed;
import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.FrameBatch;
import io.streamchat.protocol.FrameBatch.Frame;
import io.streamchat.protocol.SessionCommand.Attach;
import io.streamchat.protocol.SessionCommand.Cancel;
import io.streamchat.protocol.SessionCommand.Credit;
import io.streamchat.protocol.SessionCommand.GenerationEnded;
import io.streamchat.protocol.SessionCommand.SendMessage;
import io.streamchat.protocol.SessionCommand.Tokens;
import io.streamchat.protocol.SessionReply.TokenAck;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The session actor alone: no Vert.x, no Redis; its effects are recorded. */
class SessionActorTest {

  private static final class Recorder implements SessionEffects {
    final List<Frame> frames = new ArrayList<>();
    final List<String> started = new ArrayList<>();
    final List<String> stopped = new ArrayList<>();
    final List<String> progress = new ArrayList<>();
    long now = 1_000_000;
    int ids;

    @Override
    public void deliver(String gatewayAddress, FrameBatch batch) {
      frames.addAll(batch.frames());
    }

    @Override
    public void publish(LoggedEvent event) {
    }

    @Override
    public void persist() {
    }

    @Override
    public void startGeneration(String messageId, List<ContextMessage> context) {
      started.add(messageId);
    }

    @Override
    public void stopGeneration(String messageId, String generatorAddress) {
      stopped.add(messageId);
    }

    @Override
    public void answerStored(String messageId, String generatorAddress) {
      progress.add(messageId + "@" + generatorAddress);
    }

    int truncated;

    @Override
    public void answerTruncated() {
      truncated++;
    }

    final AnswerAdmission admission = new AnswerAdmission(2, 1, new java.util.concurrent.atomic.LongAdder());

    @Override
    public AnswerAdmission admission() {
      return admission;
    }

    @Override
    public long nowMs() {
      return now;
    }

    @Override
    public String newId() {
      return "id-" + ++ids;
    }

    List<String> types() {
      return frames.stream().map(Frame::type).toList();
    }
  }

  private final Recorder effects = new Recorder();

  private SessionActor actor(int window) {
    SessionSettings settings = new SessionSettings(60_000, 100, 100, 50, window, 10, 5_000, 30_000, 1000, 10, 12, 5_000);
    return new SessionActor("s", settings, effects, new Claimed(1, "e1", true, 0, "", List.of(), List.of(), List.of()));
  }

  private static Attach attach(String id, Long lastSeq, String epoch) {
    return new Attach(id, 0, "gw", "u", lastSeq, epoch, false);
  }

  @Test
  void attachWithCursorGetsStatusThenExactlyTheLaterEvents() {
    SessionActor actor = actor(100);
    String answer = actor.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    actor.tokens(new Tokens(answer, 0, List.of("a", "b", "c"), "bridge"));
    actor.attach(attach("c1", 2L, "e1"));
    assertThat(effects.types()).containsExactly("recovery_status", "chunk", "chunk", "chunk");
    assertThat(new JsonObject(effects.frames.get(0).json()).getInteger("chunks_recovered")).isEqualTo(3);
    assertThat(effects.frames.subList(1, 4)).extracting(Frame::seq).containsExactly(3L, 4L, 5L);
    effects.frames.clear();
    actor.tokens(new Tokens(answer, 3, List.of("d"), "bridge"));
    assertThat(effects.frames).extracting(Frame::seq).containsExactly(6L);
  }

  @Test
  void aConnectionGetsNoMoreThanItsWindowUntilItReportsProgress() {
    SessionActor actor = actor(4);
    actor.attach(attach("c1", null, null));
    String answer = actor.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    actor.tokens(new Tokens(answer, 0, List.of("a", "b", "c", "d", "e", "f"), "bridge"));
    assertThat(effects.frames).hasSize(4);
    actor.credit(new Credit("c1", 0, 4, false));
    assertThat(effects.frames).hasSize(8);
    assertThat(effects.frames.subList(1, 8)).extracting(Frame::seq).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L);
  }

  @Test
  void theSameAttachSentTwiceIsOneAttachmentAndANewGenerationStartsAfresh() {
    SessionActor actor = actor(100);
    actor.attach(attach("c1", null, null));
    actor.attach(attach("c1", null, null));
    assertThat(effects.types()).containsExactly("history");
    actor.attach(new Attach("c1", 1, "gw", "u", 0L, "e1", true));
    assertThat(effects.types()).containsExactly("history");
    String answer = actor.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    actor.tokens(new Tokens(answer, 0, List.of("a"), "bridge"));
    assertThat(effects.frames).extracting(Frame::seq).containsExactly(0L, 1L, 2L, 3L);
  }

  @Test
  void cancelAckComesBeforeTheCancelledCompleteEvenForALaggingConnection() {
    SessionActor actor = actor(3);
    actor.attach(attach("c1", null, null));
    String answer = actor.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    actor.tokens(new Tokens(answer, 0, List.of("a", "b", "c"), "bridge"));
    assertThat(actor.cancel(new Cancel("c1", answer)).status()).isEqualTo(CancelStatus.CANCELLING);
    assertThat(actor.cancel(new Cancel("c1", answer)).status()).isEqualTo(CancelStatus.ALREADY_CANCELLED);
    assertThat(actor.tokens(new Tokens(answer, 3, List.of("late"), "bridge")).streaming()).isFalse();
    for (int credit = 3; credit <= 30; credit += 3) {
      actor.credit(new Credit("c1", 0, credit, false));
    }
    assertThat(effects.types()).containsExactly("history", "user_message", "stream_start", "chunk", "chunk", "chunk",
        "cancel_ack", "complete", "cancel_ack");
    assertThat(effects.stopped).containsExactly(answer);
  }

  @Test
  void tokensAreTakenOnceInIndexOrder() {
    SessionActor actor = actor(100);
    String answer = actor.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    assertThat(actor.tokens(new Tokens(answer, 0, List.of("a", "b"), "bridge")).nextIndex()).isEqualTo(2);
    TokenAck duplicate = actor.tokens(new Tokens(answer, 1, List.of("b", "c"), "bridge"));
    assertThat(duplicate.nextIndex()).isEqualTo(3);
    TokenAck gap = actor.tokens(new Tokens(answer, 5, List.of("f"), "bridge"));
    assertThat(gap.nextIndex()).isEqualTo(3);
    TokenAck early = actor.generationEnded(new GenerationEnded(answer, 4, AnswerStatus.COMPLETED, null, null));
    assertThat(early.streaming()).as("the owner misses a token: the generator must resend it").isTrue();
    actor.tokens(new Tokens(answer, 3, List.of("d"), "bridge"));
    assertThat(actor.generationEnded(new GenerationEnded(answer, 4, AnswerStatus.COMPLETED, null, null)).streaming()).isFalse();
    JsonObject stored = actor.history(false).getJsonArray("messages").getJsonObject(1);
    assertThat(stored.getString("content")).isEqualTo("abcd");
    assertThat(stored.getInteger("total_chunks")).isEqualTo(4);
  }

  @Test
  void messagesAreRefusedWhileStreamingTooLongOrWhenStorageIsFarBehind() {
    SessionActor actor = actor(100);
    assertThatThrownBy(() -> actor.send(new SendMessage(null, "u", "x".repeat(51), null)))
        .satisfies(e -> assertThat(((ChatException) e).code()).isEqualTo(ErrorCode.TOO_LARGE));
    String answer = actor.send(new SendMessage(null, "u", "hi", "c1")).replyMessageId();
    assertThat(actor.send(new SendMessage(null, "u", "hi", "c1")).replyMessageId()).isEqualTo(answer);
    assertThatThrownBy(() -> actor.send(new SendMessage(null, "u", "other", null)))
        .satisfies(e -> assertThat(((ChatException) e).code()).isEqualTo(ErrorCode.BUSY));
    actor.tokens(new Tokens(answer, 0, List.of("1", "2", "3", "4", "5", "6", "7", "8", "9", "10"), "bridge"));
    actor.generationEnded(new GenerationEnded(answer, 10, AnswerStatus.COMPLETED, null, null));
    assertThatThrownBy(() -> actor.send(new SendMessage(null, "u", "more", null)))
        .satisfies(e -> assertThat(((ChatException) e).code()).isEqualTo(ErrorCode.UNAVAILABLE));
    actor.stored(actor.lastSeq());
    assertThat(actor.send(new SendMessage(null, "u", "more", null)).messageId()).isNotNull();
  }

  @Test
  void theGeneratorHearsWhenTheEndOfItsAnswerIsStored() {
    SessionActor actor = actor(100);
    String answer = actor.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    actor.generatorStarted(answer, "bridge");
    actor.tokens(new Tokens(answer, 0, List.of("a", "b", "c"), "bridge"));
    actor.stored(4);
    actor.generationEnded(new GenerationEnded(answer, 3, AnswerStatus.COMPLETED, null, null));
    assertThat(effects.progress).as("only once the end is stored").isEmpty();
    actor.stored(actor.lastSeq());
    assertThat(effects.progress).containsExactly(answer + "@bridge");
  }

  @Test
  void aSilentGeneratorEndsTheAnswerInterruptedWithWhatWasProduced() {
    SessionActor actor = actor(100);
    String answer = actor.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    actor.tokens(new Tokens(answer, 0, List.of("kept"), "bridge"));
    effects.now += 5_001;
    actor.tick();
    JsonObject stored = actor.history(false).getJsonArray("messages").getJsonObject(1);
    assertThat(stored.getString("status")).isEqualTo("interrupted");
    assertThat(stored.getString("content")).isEqualTo("kept");
    assertThat(stored.getJsonObject("error").getString("code")).isEqualTo("generator_lost");
  }

  @Test
  void anAnswerOverTheAdmissionLimitIsRefusedBeforeAnythingIsAppendedAndASlotFreesWhenOneEnds() {
    SessionActor first = actor(100);
    String answer = first.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    SessionActor second = actor(100);
    assertThatThrownBy(() -> second.send(new SendMessage(null, "u", "too", null)))
        .as("one answer per user").satisfies(e -> assertThat(((ChatException) e).code()).isEqualTo(ErrorCode.RATE_LIMITED));
    assertThat(second.lastSeq()).as("nothing appended").isZero();
    second.send(new SendMessage(null, "v", "another user", null));
    SessionActor third = actor(100);
    assertThatThrownBy(() -> third.send(new SendMessage(null, "w", "node full", null)))
        .as("two answers per node").satisfies(e -> assertThat(((ChatException) e).code()).isEqualTo(ErrorCode.RATE_LIMITED));
    first.generationEnded(new GenerationEnded(answer, 0, AnswerStatus.COMPLETED, null, null));
    assertThat(third.send(new SendMessage(null, "w", "now", null)).replyMessageId()).isNotNull();
    third.leave();
    assertThat(effects.admission.active()).as("a session that leaves the node frees its slot").isEqualTo(1);
  }

  @Test
  void anAnswerThatReachesTheLengthLimitEndsCompletedThereAndItsGeneratorStops() {
    SessionActor actor = actor(100);
    String answer = actor.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    actor.generatorStarted(answer, "bridge");
    TokenAck ack = actor.tokens(new Tokens(answer, 0, List.of("aaaaa", "bbbbb", "ccccc", "ddddd"), "bridge"));
    assertThat(ack.streaming()).isFalse();
    assertThat(ack.nextIndex()).isEqualTo(3);
    assertThat(effects.stopped).containsExactly(answer);
    assertThat(effects.truncated).isEqualTo(1);
    JsonObject stored = actor.history(false).getJsonArray("messages").getJsonObject(1);
    assertThat(stored.getString("status")).isEqualTo("completed");
    assertThat(stored.getString("content")).isEqualTo("aaaaabbbbbccccc");
    assertThat(stored.getInteger("total_chunks")).isEqualTo(3);
  }

  @Test
  void aMessageRetriedWithItsRequestIdIsCarriedOutOnce() {
    SessionActor actor = actor(100);
    var first = actor.send(new SendMessage("c", "u", "hi", null, "req-1"));
    long seq = actor.lastSeq();
    var repeat = actor.send(new SendMessage("c", "u", "hi", null, "req-1"));
    assertThat(repeat).isEqualTo(first);
    assertThat(actor.lastSeq()).as("nothing appended again, no busy error").isEqualTo(seq);
  }
}
