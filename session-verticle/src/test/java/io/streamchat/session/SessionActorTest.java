package io.streamchat.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamchat.protocol.AiCommand.ContextMessage;
import io.streamchat.protocol.AiCommand.TokensTaken;
import io.streamchat.protocol.AnswerError;
import io.streamchat.protocol.AnswerStatus;
import io.streamchat.protocol.CancelStatus;
import io.streamchat.protocol.CacheCommand.AuditMark;
import io.streamchat.protocol.CacheCommand.Claimed;
import io.streamchat.protocol.CacheCommand.StoredEvent;
import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.FrameBatch;
import io.streamchat.protocol.FrameBatch.Frame;
import io.streamchat.protocol.SessionCommand.Attach;
import io.streamchat.protocol.SessionCommand.Cancel;
import io.streamchat.protocol.SessionCommand.Credit;
import io.streamchat.protocol.SessionCommand.GenerationEnded;
import io.streamchat.protocol.SessionCommand.Continue;
import io.streamchat.protocol.SessionCommand.Regenerate;
import io.streamchat.protocol.SessionCommand.SendMessage;
import io.streamchat.protocol.SessionReply.MessageAccepted;
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
    final List<String> answersEnded = new ArrayList<>();
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

    final List<Generation> generations = new ArrayList<>();
    final List<String> continued = new ArrayList<>();
    long run;

    record Generation(String messageId, List<ContextMessage> context, String prefix, int fromIndex, long run) {
    }

    @Override
    public void startGeneration(String messageId, List<ContextMessage> context, String prefix, int fromIndex, long run) {
      started.add(messageId);
      generations.add(new Generation(messageId, context, prefix, fromIndex, run));
    }

    @Override
    public void stopGeneration(String messageId, String generatorAddress, long run) {
      stopped.add(messageId);
    }

    @Override
    public void generationContinued(String messageId, int fromIndex, String why) {
      continued.add(messageId + "@" + fromIndex);
    }

    @Override
    public long newRun() {
      return ++run;
    }

    final List<io.streamchat.protocol.DurableCommand.Write> durable = new ArrayList<>();
    boolean durableBehind;

    @Override
    public void conversationChanged(io.streamchat.protocol.DurableCommand.Write write) {
      durable.add(write);
    }

    @Override
    public boolean durableTierBehind() {
      return durableBehind;
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

    final AnswerAdmission admission = new AnswerAdmission(2, 1, new io.micrometer.core.instrument.simple.SimpleMeterRegistry().counter("refused"));

    @Override
    public AnswerAdmission admission() {
      return admission;
    }

    @Override
    public void answerEnded(String userId, AnswerStatus status, AnswerError errorCode) {
      answersEnded.add(String.valueOf(userId));
    }

    @Override
    public void firstToken(long afterMs) {
    }

    @Override
    public void resumed(boolean recovered) {
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

  /** The newest generator run asked for an answer. */
  private long runOf(String messageId) {
    return effects.generations.stream().filter(g -> g.messageId().equals(messageId)).reduce((a, b) -> b).orElseThrow().run();
  }

  private SessionActor actor(int window) {
    SessionSettings settings = new SessionSettings(60_000, 100, 100, 50, window, 10, 0, 5_000, 30_000, 1000, 10, 12, true, 2, false, 1000, 5_000);
    return new SessionActor("s", settings, effects, new Claimed(1, "e1", true, 0, "", List.of(), List.of(), List.of(), "1:e1", AuditMark.NONE, 0));
  }

  private static Attach attach(String id, Long lastSeq, String epoch) {
    return new Attach(id, 0, "gw", "u", lastSeq, epoch, false);
  }

  @Test
  void attachWithCursorGetsStatusThenExactlyTheLaterEvents() {
    SessionActor actor = actor(100);
    String answer = actor.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    actor.tokens(new Tokens(answer, 0, List.of("a", "b", "c"), "bridge", runOf(answer)));
    actor.attach(attach("c1", 2L, "e1"));
    assertThat(effects.types()).containsExactly("recovery_status", "chunk", "chunk", "chunk");
    assertThat(new JsonObject(effects.frames.get(0).json()).getInteger("chunks_recovered")).isEqualTo(3);
    assertThat(effects.frames.subList(1, 4)).extracting(Frame::seq).containsExactly(3L, 4L, 5L);
    effects.frames.clear();
    actor.tokens(new Tokens(answer, 3, List.of("d"), "bridge", runOf(answer)));
    assertThat(effects.frames).extracting(Frame::seq).containsExactly(6L);
  }

  @Test
  void aConnectionGetsNoMoreThanItsWindowUntilItReportsProgress() {
    SessionActor actor = actor(4);
    actor.attach(attach("c1", null, null));
    String answer = actor.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    actor.tokens(new Tokens(answer, 0, List.of("a", "b", "c", "d", "e", "f"), "bridge", runOf(answer)));
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
    actor.tokens(new Tokens(answer, 0, List.of("a"), "bridge", runOf(answer)));
    assertThat(effects.frames).extracting(Frame::seq).containsExactly(0L, 1L, 2L, 3L);
  }

  @Test
  void onlyANewAnswerAsksTheUsersLimitAndItsEndGivesThePlaceBack() {
    SessionActor actor = actor(3);
    assertThatThrownBy(() -> actor.wouldStartAnswer(new Regenerate(null, "u", null, "r-0")))
        .as("nothing to answer again: refused as such, before the user's limit is asked")
        .satisfies(e -> assertThat(((ChatException) e).code()).isEqualTo(ErrorCode.NOT_FOUND));
    assertThatThrownBy(() -> actor.wouldStartAnswer(new Continue(null, "u", null, "r-00")))
        .satisfies(e -> assertThat(((ChatException) e).code()).isEqualTo(ErrorCode.NOT_FOUND));
    SendMessage first = new SendMessage(null, "u", "hi", "c-1", "r-1");
    assertThat(actor.wouldStartAnswer(first)).isTrue();
    String answer = actor.send(first).replyMessageId();
    assertThat(actor.streaming()).isTrue();
    assertThat(actor.wouldStartAnswer(first)).as("a repeat").isFalse();
    assertThat(actor.wouldStartAnswer(new SendMessage(null, "u", "again", null, "r-2"))).as("busy").isFalse();
    actor.cancel(new Cancel(null, answer, null, 1));
    assertThat(effects.answersEnded).containsExactly("u");
    assertThat(actor.wouldStartAnswer(first)).as("a repeat, after the end").isFalse();
    assertThat(actor.wouldStartAnswer(new Regenerate(null, "u", null, "r-3"))).isTrue();
  }

  @Test
  void aSessionBelongsToItsFirstUser() {
    SessionActor actor = actor(3);
    actor.authorize("anyone");
    actor.attach(new Attach("c1", 0, "gw", "owner", null, null, false));
    actor.authorize("owner");
    actor.authorize(null);
    assertThatThrownBy(() -> actor.authorize("other")).isInstanceOfSatisfying(ChatException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));
  }

  @Test
  void cancelAckComesBeforeTheCancelledCompleteEvenForALaggingConnection() {
    SessionActor actor = actor(3);
    actor.attach(attach("c1", null, null));
    String answer = actor.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    actor.tokens(new Tokens(answer, 0, List.of("a", "b", "c"), "bridge", runOf(answer)));
    assertThat(actor.cancel(new Cancel("c1", answer, null, 1)).status()).isEqualTo(CancelStatus.CANCELLING);
    assertThat(actor.cancel(new Cancel("c1", answer, null, 1)).status()).isEqualTo(CancelStatus.ALREADY_CANCELLED);
    assertThat(actor.tokens(new Tokens(answer, 3, List.of("late"), "bridge", runOf(answer))).streaming()).isFalse();
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
    assertThat(actor.tokens(new Tokens(answer, 0, List.of("a", "b"), "bridge", runOf(answer))).nextIndex()).isEqualTo(2);
    TokenAck duplicate = actor.tokens(new Tokens(answer, 1, List.of("b", "c"), "bridge", runOf(answer)));
    assertThat(duplicate.nextIndex()).isEqualTo(3);
    TokenAck gap = actor.tokens(new Tokens(answer, 5, List.of("f"), "bridge", runOf(answer)));
    assertThat(gap.nextIndex()).isEqualTo(3);
    TokenAck early = actor.generationEnded(new GenerationEnded(answer, 4, AnswerStatus.COMPLETED, null, null, "stop", runOf(answer)));
    assertThat(early.streaming()).as("the owner misses a token: the generator must resend it").isTrue();
    actor.tokens(new Tokens(answer, 3, List.of("d"), "bridge", runOf(answer)));
    assertThat(actor.generationEnded(new GenerationEnded(answer, 4, AnswerStatus.COMPLETED, null, null, "stop", runOf(answer))).streaming()).isFalse();
    JsonObject stored = new JsonObject(actor.history(false)).getJsonArray("messages").getJsonObject(1);
    assertThat(stored.getString("content")).isEqualTo("abcd");
    assertThat(stored.getInteger("total_chunks")).isEqualTo(4);
  }

  @Test
  void streamedTokensAreAcknowledgedOncePerRunInBulkAndAtOnceWhenTheAnswerDoesNotStream() {
    SessionActor actor = actor(100);
    ActiveSession session = new ActiveSession("s", 1, s -> { }, s -> { });
    session.actor = actor;
    List<TokensTaken> sent = new ArrayList<>();
    TokenAcks acks = new TokenAcks((generator, taken) -> sent.add(taken));
    String answer = actor.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    acks.streamed(session, new Tokens(answer, 0, List.of("a"), "bridge", runOf(answer)));
    acks.streamed(session, new Tokens(answer, 1, List.of("b", "c"), "bridge", runOf(answer)));
    assertThat(sent).as("streaming: acknowledged in bulk later").isEmpty();
    assertThat(acks.pending()).isEqualTo(1);

    acks.acknowledgeDue(owned -> true);
    assertThat(sent).singleElement().satisfies(taken -> {
      assertThat(taken.streaming()).isTrue();
      assertThat(taken.nextIndex()).isEqualTo(3);
    });
    acks.acknowledgeDue(owned -> true);
    assertThat(sent).as("nothing new was due").hasSize(1);

    acks.streamed(session, new Tokens(answer, 3, List.of("d"), "bridge", runOf(answer)));
    acks.acknowledgeDue(owned -> true);
    assertThat(sent).as("the same run's tokens of a later interval are acknowledged in it").hasSize(2);
    assertThat(sent.get(1).nextIndex()).isEqualTo(4);

    acks.streamed(session, new Tokens("not-streaming", 0, List.of("x"), "bridge", 5));
    assertThat(sent).as("an answer that does not stream here: its generator hears at once").hasSize(3);
    assertThat(sent.get(2).streaming()).isFalse();

    acks.streamed(session, new Tokens(answer, 4, List.of("e"), "bridge", runOf(answer)));
    acks.acknowledgeDue(owned -> false);
    assertThat(sent).as("a session no longer owned here acknowledges nothing").hasSize(3);
  }

  @Test
  void theMessageLimitCountsCharactersNotUtf16Units() {
    SessionActor actor = actor(100);
    assertThatThrownBy(() -> actor.send(new SendMessage(null, "u", "\uD83D\uDE00".repeat(51), null)))
        .satisfies(e -> assertThat(((ChatException) e).code()).isEqualTo(ErrorCode.TOO_LARGE));
    assertThat(actor.send(new SendMessage(null, "u", "\uD83D\uDE00".repeat(50), null)).replyMessageId())
        .as("50 emoji are 50 characters, though Java counts 100 units").isNotNull();
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
    actor.tokens(new Tokens(answer, 0, List.of("1", "2", "3", "4", "5", "6", "7", "8", "9", "10"), "bridge", runOf(answer)));
    actor.generationEnded(new GenerationEnded(answer, 10, AnswerStatus.COMPLETED, null, null, "stop", runOf(answer)));
    assertThatThrownBy(() -> actor.send(new SendMessage(null, "u", "more", null)))
        .satisfies(e -> assertThat(((ChatException) e).code()).isEqualTo(ErrorCode.UNAVAILABLE));
    actor.stored(actor.lastSeq());
    assertThat(actor.send(new SendMessage(null, "u", "more", null)).messageId()).isNotNull();
  }

  @Test
  void theGeneratorHearsWhenTheEndOfItsAnswerIsStored() {
    SessionActor actor = actor(100);
    String answer = actor.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    actor.generatorStarted(answer, runOf(answer), "bridge");
    actor.tokens(new Tokens(answer, 0, List.of("a", "b", "c"), "bridge", runOf(answer)));
    actor.stored(4);
    actor.generationEnded(new GenerationEnded(answer, 3, AnswerStatus.COMPLETED, null, null, "stop", runOf(answer)));
    assertThat(effects.progress).as("only once the end is stored").isEmpty();
    actor.stored(actor.lastSeq());
    assertThat(effects.progress).containsExactly(answer + "@bridge");
  }

  @Test
  void aSilentGeneratorIsReplacedByARunFromTheLastChunkUntilTheLastAttemptEndsTheAnswerInterrupted() {
    SessionActor actor = actor(100);
    String answer = actor.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    long firstRun = runOf(answer);
    actor.tokens(new Tokens(answer, 0, List.of("kept"), "bridge", firstRun));
    effects.now += 5_001;
    actor.tick();
    Recorder.Generation second = effects.generations.get(1);
    assertThat(second.prefix()).isEqualTo("kept");
    assertThat(second.fromIndex()).isEqualTo(1);
    assertThat(second.run()).isNotEqualTo(firstRun);
    assertThat(second.context()).extracting(ContextMessage::content).containsExactly("hi");
    assertThat(actor.tokens(new Tokens(answer, 1, List.of("stale"), "bridge", firstRun)).nextIndex())
        .as("the replaced run is told to stop").isEqualTo(-1);
    actor.tokens(new Tokens(answer, 1, List.of(" more"), "bridge", second.run()));
    effects.now += 5_001;
    actor.tick();
    assertThat(effects.generations.get(2).prefix()).isEqualTo("kept more");
    effects.now += 5_001;
    actor.tick();
    assertThat(effects.continued).containsExactly(answer + "@1", answer + "@2");
    JsonObject stored = new JsonObject(actor.history(false)).getJsonArray("messages").getJsonObject(1);
    assertThat(stored.getString("status")).isEqualTo("interrupted");
    assertThat(stored.getString("content")).isEqualTo("kept more");
    assertThat(stored.getJsonObject("error").getString("code")).isEqualTo("generator_lost");
  }

  @Test
  void commandsOfAConnectionNotAttachedHereAreRepliedNotAttachedSoThatItsGatewayAttachesFirst() {
    SessionActor actor = actor(100);
    String answer = actor.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    assertThatThrownBy(() -> SessionCommands.execute(actor, new Cancel("elsewhere", answer, null, 1), "node-a"))
        .isInstanceOfSatisfying(ChatException.class, refusal -> assertThat(
            io.streamchat.protocol.InternalFailure.NOT_ATTACHED.is(refusal.toReplyException())).isTrue());
    assertThat(actor.streaming()).as("nothing was cancelled").isTrue();
    assertThat(SessionCommands.execute(actor, attach("c1", null, null), "node-a"))
        .isEqualTo(new io.streamchat.protocol.SessionReply.Attached(actor.fence(), "node-a"));
    assertThat(SessionCommands.execute(actor, new Cancel("c1", answer, null, 1), "node-a"))
        .extracting(result -> ((io.streamchat.protocol.SessionReply.CancelResult) result).status())
        .isEqualTo(CancelStatus.CANCELLING);
  }

  @Test
  void anAnswerNoBridgeTookGoesOnWithANewRunAfterTheGraceAndFailsOnlyWithoutAutoContinue() {
    SessionActor actor = actor(100);
    String answer = actor.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    long firstRun = runOf(answer);
    actor.generatorUnreachable(answer, firstRun, "Timed out after waiting 2000(ms) for a reply");
    assertThat(actor.streaming()).as("a bridge that could not be reached is no failed provider").isTrue();
    actor.tick();
    assertThat(effects.generations).as("not before the grace: the bridge may have taken it after all").hasSize(1);
    effects.now += StreamingAnswer.RESTORED_GENERATOR_GRACE_MS + 1;
    actor.tick();
    assertThat(effects.generations).hasSize(2);
    assertThat(effects.generations.get(1).fromIndex()).isZero();
    actor.tokens(new Tokens(answer, 0, List.of("late"), "bridge", firstRun));
    long secondRun = effects.generations.get(1).run();
    actor.tokens(new Tokens(answer, 0, List.of("fresh"), "bridge", secondRun));
    actor.generationEnded(new GenerationEnded(answer, 1, AnswerStatus.COMPLETED, null, null, "stop", secondRun));
    JsonObject completed = new JsonObject(actor.history(false)).getJsonArray("messages").getJsonObject(1);
    assertThat(completed.getString("status")).isEqualTo("completed");
    assertThat(completed.getString("content")).isEqualTo("fresh");

    SessionSettings noContinue = new SessionSettings(60_000, 100, 100, 50, 100, 10, 0, 5_000, 30_000, 1000, 10, 1000, false, 2, false, 1000, 5_000);
    SessionActor strict = new SessionActor("t", noContinue, effects,
        new Claimed(1, "e1", true, 0, "", List.of(), List.of(), List.of(), "1:e1", AuditMark.NONE, 0));
    String refused = strict.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    strict.generatorUnreachable(refused, runOf(refused), "no handlers");
    JsonObject failed = new JsonObject(strict.history(false)).getJsonArray("messages").getJsonObject(1);
    assertThat(failed.getString("status")).isEqualTo("failed");
    assertThat(failed.getJsonObject("error").getString("code")).isEqualTo("provider_unavailable");
  }

  @Test
  void whenTheGeneratorsNodeLeavesTheAnswerGoesOnAtOnceInTheSameMessage() {
    SessionActor actor = actor(100);
    actor.attach(attach("c1", null, null));
    String answer = actor.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    String bridge = io.streamchat.protocol.Addresses.aiBridge("node-b", "i1");
    actor.generatorStarted(answer, runOf(answer), bridge);
    actor.tokens(new Tokens(answer, 0, List.of("a", "b"), bridge, runOf(answer)));
    actor.generatorNodeLeft("node-a");
    assertThat(effects.generations).hasSize(1);
    actor.generatorNodeLeft("node-b");
    assertThat(effects.generations).hasSize(2);
    assertThat(effects.generations.get(1).fromIndex()).isEqualTo(2);
    actor.tokens(new Tokens(answer, 2, List.of("c"), "other", runOf(answer)));
    actor.generationEnded(new GenerationEnded(answer, 3, AnswerStatus.COMPLETED, null, null, "stop", runOf(answer)));
    List<JsonObject> events = effects.frames.stream().filter(f -> f.seq() > 0).map(f -> new JsonObject(f.json())).toList();
    assertThat(events).extracting(e -> e.getString("type"))
        .containsExactly("user_message", "stream_start", "chunk", "chunk", "chunk", "complete");
    assertThat(events).extracting(e -> e.getLong("seq")).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
    JsonObject complete = events.get(5);
    assertThat(complete.getString("content")).isEqualTo("abc");
    assertThat(complete.getString("finish_reason")).isEqualTo("stop");
  }

  @Test
  void regenerateAnswersTheLastQuestionAgainAndOnlyTheNewestAnswerIsContextLater() {
    SessionActor actor = actor(100);
    actor.attach(attach("c1", null, null));
    MessageAccepted first = actor.send(new SendMessage(null, "u", "q1", null));
    finishWith(actor, first.replyMessageId(), "old");
    MessageAccepted again = actor.regenerate(new Regenerate(null, "u", "r-1", null));
    assertThat(again.messageId()).isEqualTo(first.messageId());
    assertThat(actor.regenerate(new Regenerate(null, "u", "r-1", null))).as("idempotent").isEqualTo(again);
    assertThat(effects.generations.get(1).context()).extracting(ContextMessage::content).containsExactly("q1");
    assertThatThrownBy(() -> actor.regenerate(new Regenerate(null, "u", null, null)))
        .satisfies(e -> assertThat(((ChatException) e).code()).isEqualTo(ErrorCode.BUSY));
    finishWith(actor, again.replyMessageId(), "new");
    actor.stored(actor.lastSeq());
    actor.send(new SendMessage(null, "u", "q2", null));
    assertThat(effects.generations.get(2).context()).extracting(ContextMessage::content).containsExactly("q1", "new", "q2");
    JsonObject start = effects.frames.stream().map(f -> new JsonObject(f.json()))
        .filter(e -> "stream_start".equals(e.getString("type"))).toList().get(1);
    assertThat(start.getString("reply_to")).isEqualTo(first.messageId());
  }

  @Test
  void aRepeatedClientMessageIdGetsTheOriginalIdsAfterARegeneration() {
    SessionActor actor = actor(100);
    MessageAccepted first = actor.send(new SendMessage(null, "u", "q1", "c-1"));
    finishWith(actor, first.replyMessageId(), "old");
    MessageAccepted again = actor.regenerate(new Regenerate(null, "u", null, null));
    finishWith(actor, again.replyMessageId(), "new");
    assertThat(again.replyMessageId()).isNotEqualTo(first.replyMessageId());
    assertThat(actor.send(new SendMessage(null, "u", "q1", "c-1"))).isEqualTo(first);
  }

  @Test
  void regenerateWithoutAQuestionIsNotFound() {
    SessionActor actor = actor(100);
    assertThatThrownBy(() -> actor.regenerate(new Regenerate(null, "u", null, null)))
        .satisfies(e -> assertThat(((ChatException) e).code()).isEqualTo(ErrorCode.NOT_FOUND));
    assertThat(actor.lastSeq()).isZero();
  }

  @Test
  void continueGoesOnFromTheStoppedTextAndIsRefusedForAnswersThatCannotBeContinued() {
    SessionActor actor = actor(100);
    actor.attach(attach("c1", null, null));
    MessageAccepted question = actor.send(new SendMessage(null, "u", "q1", null));
    String cut = question.replyMessageId();
    actor.tokens(new Tokens(cut, 0, List.of("Hello", " wor"), "bridge", runOf(cut)));
    actor.cancel(new Cancel(null, cut, null, 1));
    MessageAccepted more = actor.continueAnswer(new Continue(null, "u", null, null));
    Recorder.Generation generation = effects.generations.get(1);
    assertThat(generation.prefix()).isEqualTo("Hello wor");
    assertThat(generation.fromIndex()).isZero();
    assertThat(generation.context()).extracting(ContextMessage::content).containsExactly("q1");
    JsonObject start = effects.frames.stream().map(f -> new JsonObject(f.json()))
        .filter(e -> "stream_start".equals(e.getString("type"))).toList().get(1);
    assertThat(start.getString("continues")).isEqualTo(cut);
    assertThat(start.getString("reply_to")).isEqualTo(question.messageId());
    actor.tokens(new Tokens(more.replyMessageId(), 0, List.of("ld"), "bridge", runOf(more.replyMessageId())));
    actor.generationEnded(new GenerationEnded(more.replyMessageId(), 1, AnswerStatus.COMPLETED, null, null, "length",
        runOf(more.replyMessageId())));
    MessageAccepted third = actor.continueAnswer(new Continue(null, "u", cut, null));
    assertThat(effects.generations.get(2).prefix()).as("a chain of continuations").isEqualTo("Hello world");
    JsonObject thirdStart = effects.frames.stream().map(f -> new JsonObject(f.json()))
        .filter(e -> "stream_start".equals(e.getString("type"))).toList().get(2);
    assertThat(thirdStart.getString("continues")).as("an answer continued before goes on from its newest continuation")
        .isEqualTo(more.replyMessageId());
    assertThat(third.replyMessageId()).isEqualTo(effects.generations.get(2).messageId());
    assertThatThrownBy(() -> actor.continueAnswer(new Continue(null, "u", null, null)))
        .satisfies(e -> assertThat(((ChatException) e).code()).isEqualTo(ErrorCode.BUSY));
    finishWith(actor, effects.generations.get(2).messageId(), "!");
    actor.stored(actor.lastSeq());
    assertThatThrownBy(() -> actor.continueAnswer(new Continue(null, "u", null, null)))
        .as("a completed answer").satisfies(e -> assertThat(((ChatException) e).code()).isEqualTo(ErrorCode.BAD_REQUEST));
    assertThatThrownBy(() -> actor.continueAnswer(new Continue(null, "u", cut, null)))
        .as("an answer continued until complete").satisfies(e -> assertThat(((ChatException) e).code())
            .isEqualTo(ErrorCode.BAD_REQUEST));
    assertThatThrownBy(() -> actor.continueAnswer(new Continue(null, "u", question.messageId(), null)))
        .as("a user message").satisfies(e -> assertThat(((ChatException) e).code()).isEqualTo(ErrorCode.BAD_REQUEST));
    assertThatThrownBy(() -> actor.continueAnswer(new Continue(null, "u", "nope", null)))
        .satisfies(e -> assertThat(((ChatException) e).code()).isEqualTo(ErrorCode.NOT_FOUND));
    JsonObject history = new JsonObject(actor.history(false));
    JsonObject second = history.getJsonArray("messages").getJsonObject(2);
    assertThat(second.getString("continues")).isEqualTo(cut);
    assertThat(second.getString("finish_reason")).isEqualTo("length");
    actor.send(new SendMessage(null, "u", "q2", null));
    assertThat(effects.generations.get(3).context()).extracting(ContextMessage::content)
        .as("the answer and its continuations are one text in later context").containsExactly("q1", "Hello world!", "q2");
  }

  @Test
  void aRestoredAnswerGoesOnFromWhatWasStoredWhenNoGeneratorCanFeedItWithinTheGrace() {
    String question = new JsonObject().put("message_id", "q").put("role", "user").put("content", "hi")
        .put("status", "completed").put("created_at", "t").put("client_message_id", "c-1").encode();
    List<StoredEvent> streaming = List.of(
        new StoredEvent(2, LoggedEvent.STREAM_START,
            "{\"type\":\"stream_start\",\"seq\":2,\"message_id\":\"a\",\"reply_to\":\"q\",\"client_message_id\":\"r-1\"}",
            "a", null),
        new StoredEvent(3, LoggedEvent.CHUNK, SessionFrames.chunk(3, "a", 0, "Hel"), "a", null),
        new StoredEvent(4, LoggedEvent.CHUNK, SessionFrames.chunk(4, "a", 1, "lo"), "a", null));
    SessionSettings settings = new SessionSettings(60_000, 100, 100, 50, 100, 10, 0, 5_000, 30_000, 1000, 10, 1000, true, 2, false, 1000, 5_000);
    SessionActor actor = new SessionActor("s", settings, effects,
        new Claimed(2, "e2", true, 4, "u", List.of(question), streaming, streaming, "1:e1,5:e2", AuditMark.NONE, 1));
    assertThat(actor.waitsForGenerator()).isTrue();
    TokenAck ahead = actor.tokens(new Tokens("a", 5, List.of("x"), "old-bridge", 99));
    assertThat(ahead.nextIndex()).as("the old run is told what this owner holds").isEqualTo(2);
    assertThat(actor.waitsForGenerator()).as("tokens past what is held are no progress").isTrue();
    assertThat(actor.regenerate(new Regenerate(null, "u", "r-1", null)).replyMessageId())
        .as("the regeneration that started the answer, asked again after the owner changed").isEqualTo("a");
    effects.now += StreamingAnswer.RESTORED_GENERATOR_GRACE_MS + 1;
    actor.tick();
    assertThat(effects.generations).hasSize(1);
    Recorder.Generation next = effects.generations.get(0);
    assertThat(next.fromIndex()).isEqualTo(2);
    assertThat(next.prefix()).isEqualTo("Hello");
    assertThat(next.run()).isNotEqualTo(99);
    assertThat(actor.tokens(new Tokens("a", 2, List.of("late"), "old-bridge", 99)).nextIndex())
        .as("the old run, replaced, stops").isEqualTo(-1);
  }

  private void finishWith(SessionActor actor, String messageId, String text) {
    actor.tokens(new Tokens(messageId, 0, List.of(text), "bridge", runOf(messageId)));
    actor.generationEnded(new GenerationEnded(messageId, 1, AnswerStatus.COMPLETED, null, null, "stop", runOf(messageId)));
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
    first.generationEnded(new GenerationEnded(answer, 0, AnswerStatus.COMPLETED, null, null, "stop", runOf(answer)));
    assertThat(third.send(new SendMessage(null, "w", "now", null)).replyMessageId()).isNotNull();
    third.leave();
    assertThat(effects.admission.active()).as("a session that leaves the node frees its slot").isEqualTo(1);
  }

  @Test
  void anAnswerThatReachesTheLengthLimitEndsCompletedThereAndItsGeneratorStops() {
    SessionActor actor = actor(100);
    String answer = actor.send(new SendMessage(null, "u", "hi", null)).replyMessageId();
    actor.generatorStarted(answer, runOf(answer), "bridge");
    TokenAck ack = actor.tokens(new Tokens(answer, 0, List.of("aaaaa", "bbbbb", "ccccc", "ddddd"), "bridge", runOf(answer)));
    assertThat(ack.streaming()).isFalse();
    assertThat(ack.nextIndex()).isEqualTo(3);
    assertThat(effects.stopped).containsExactly(answer);
    assertThat(effects.truncated).isEqualTo(1);
    JsonObject stored = new JsonObject(actor.history(false)).getJsonArray("messages").getJsonObject(1);
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
