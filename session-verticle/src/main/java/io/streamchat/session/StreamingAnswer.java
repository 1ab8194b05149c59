package io.streamchat.session;

import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.AnswerError;
import io.streamchat.protocol.AnswerStatus;
import io.streamchat.protocol.CacheCommand.StoredEvent;
import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.DurableCommand;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.SessionCommand.GenerationEnded;
import io.streamchat.protocol.SessionCommand.Tokens;
import io.streamchat.protocol.SessionReply.MessageAccepted;
import io.streamchat.protocol.SessionReply.TokenAck;
import java.time.Instant;
import java.util.List;
import java.util.function.Supplier;

/**
 * The answer streaming in a session, if any, and its generator runs: it starts an answer, takes
 * its tokens, goes on with a new run when a generator is lost, and ends it. Every event it makes
 * goes through the {@link SessionLog}; what the generators hear is the {@link TokenAck} returned.
 */
final class StreamingAnswer {

  /**
   * A restored answer (the owner changed while it streamed) waits this long for its generator to
   * speak (a living relay finds the new owner within about a second: it resends what was not
   * acknowledged after CHAT_AI_DELIVERY_TIMEOUT_MS) before another run goes on from the last
   * stored chunk. Should the old generator speak later, its run is refused and stops.
   */
  static final long RESTORED_GENERATOR_GRACE_MS = 3000;
  static final String LENGTH = "length";

  private final String sessionId;
  private final SessionSettings settings;
  private final SessionEffects effects;
  private final long fence;
  private final Conversation conversation;
  private final SessionLog events;
  private final Supplier<String> userId;
  private Answer answer;
  /** The user whose admission slot the streaming answer holds. */
  private String admittedUser;
  /** The session has left this node: its answer's admission slot is released. */
  private boolean left;

  StreamingAnswer(String sessionId, SessionSettings settings, SessionEffects effects, long fence,
                  Conversation conversation, SessionLog events, Supplier<String> userId) {
    this.sessionId = sessionId;
    this.settings = settings;
    this.effects = effects;
    this.fence = fence;
    this.conversation = conversation;
    this.events = events;
    this.userId = userId;
  }

  /** The answer streaming now, or null. */
  Answer current() {
    return answer;
  }

  // ---- starting and stopping ----

  /** Refuses a new answer, before anything of it is appended, when the node or the user has too many streaming. */
  void admit(String user) {
    switch (effects.admission().tryAcquire(user)) {
      case NODE_FULL -> throw new ChatException(ErrorCode.RATE_LIMITED,
          "this server is streaming as many answers as it is configured to; try again shortly");
      case USER_FULL -> throw new ChatException(ErrorCode.RATE_LIMITED,
          "too many of your answers are streaming at once; try again when one has finished");
      case ADMITTED -> admittedUser = user;
    }
  }

  /** Starts an admitted answer: its {@code stream_start} is appended and a generator asked for it. */
  MessageAccepted start(String replyTo, String continues, String clientMessageId, String prefix, String createdAt) {
    answer = new Answer(effects.newId(), replyTo, createdAt, continues, clientMessageId, prefix, effects.newRun(),
        effects.nowMs());
    answer.askedMs = effects.nowMs();
    events.append(LoggedEvent.STREAM_START, SessionFrames.streamStart(events.nextSeq(), answer.messageId, replyTo,
        continues, clientMessageId), answer.messageId, -1, answer.streamingView());
    effects.startGeneration(answer.messageId, conversation.context(replyTo, settings.contextMessages()), prefix, 0,
        answer.run);
    return new MessageAccepted(sessionId, replyTo, answer.messageId);
  }

  /** The streaming answer ends {@code cancelled} and its generator is stopped. */
  void cancel() {
    String messageId = answer.messageId;
    String generator = answer.generatorAddress;
    long run = answer.run;
    finish(AnswerStatus.CANCELLED, null, null, null);
    effects.stopGeneration(messageId, generator, run);
  }

  /** The conversation is being deleted: an answer streaming is stopped at its generator, with no event. */
  void abandon() {
    if (answer != null) {
      effects.stopGeneration(answer.messageId, answer.generatorAddress, answer.run);
    }
  }

  /** This node no longer owns the session: an answer still streaming goes on elsewhere and stops counting here. */
  void leave() {
    if (answer != null && !left) {
      effects.admission().release(admittedUser);
    }
    left = true;
  }

  // ---- the generator ----

  void generatorStarted(String messageId, long run, String generatorAddress) {
    if (isCurrentRun(messageId, run)) {
      answer.generatorAddress = generatorAddress;
    } else {
      // Cancelled, or replaced by a newer run, before this generator was known: stop it now.
      effects.stopGeneration(messageId, generatorAddress, run);
    }
  }

  /**
   * No bridge took the run: none was reachable, or none answered in time (a node leaving or joining).
   * That is no failure of the provider: like a lost generator, the answer goes on with a new run after
   * the grace (a bridge that did take it may still speak first), up to CHAT_AUTO_CONTINUE_MAX times.
   * Without that, it fails {@code provider_unavailable}.
   */
  void generatorUnreachable(String messageId, long run, String why) {
    if (!isCurrentRun(messageId, run) || answer.generatorAddress != null) {
      return;
    }
    if (mayContinue()) {
      answer.awaitingGenerator = true;
      return;
    }
    finish(AnswerStatus.FAILED, AnswerError.PROVIDER_UNAVAILABLE, "no AI bridge took the answer: " + why, null);
  }

  /** The node of the answer's generator left the cluster: the answer goes on with a new run at once. */
  void generatorNodeLeft(String clusterNodeId) {
    if (answer != null && clusterNodeId != null && clusterNodeId.equals(Addresses.nodeOfBridge(answer.generatorAddress))) {
      generatorLost("its node left the cluster");
    }
  }

  /** Goes on with an answer whose generator went silent, or did not come back after the owner changed. */
  void tick(long now) {
    if (answer == null) {
      return;
    }
    long silentMs = now - answer.lastProgressMs;
    if (silentMs > settings.generatorTimeoutMs()) {
      generatorLost("it sent nothing for " + silentMs + " ms");
    } else if (answer.awaitingGenerator && silentMs > RESTORED_GENERATOR_GRACE_MS && mayContinue()) {
      generatorLost("it did not come back after the session changed owner");
    }
  }

  /** An answer restored from storage whose generator has not spoken to this owner yet. */
  boolean waitsForGenerator() {
    return answer != null && answer.awaitingGenerator;
  }

  private boolean mayContinue() {
    return settings.autoContinue() && answer.continuations < settings.maxAutoContinuations();
  }

  private boolean isCurrentRun(String messageId, long run) {
    return answer != null && answer.isRun(messageId, run);
  }

  /**
   * The generator is gone (its node left, it went silent, or it never came back after the owner
   * changed): another run goes on from the last chunk held, up to CHAT_AUTO_CONTINUE_MAX times;
   * otherwise, or with CHAT_AUTO_CONTINUE off, the answer ends {@code interrupted}.
   */
  private void generatorLost(String why) {
    String messageId = answer.messageId;
    String lost = answer.generatorAddress;
    long lostRun = answer.run;
    if (mayContinue()) {
      answer.continuations++;
      answer.run = effects.newRun();
      answer.generatorAddress = null;
      answer.lastProgressMs = effects.nowMs();
      effects.generationContinued(messageId, answer.chunkCount(), why);
      effects.stopGeneration(messageId, lost, lostRun);
      effects.startGeneration(messageId, conversation.context(answer.replyTo, settings.contextMessages()),
          answer.prefix + answer.content(), answer.chunkCount(), answer.run);
      return;
    }
    finish(AnswerStatus.INTERRUPTED, AnswerError.GENERATOR_LOST, "the AI generator was lost: " + why, null);
    effects.stopGeneration(messageId, lost, lostRun);
  }

  // ---- tokens ----

  TokenAck tokens(Tokens tokens) {
    events.liveSince(tokens.receivedAtMicros());
    try {
      return take(tokens);
    } finally {
      events.notLive();
    }
  }

  private TokenAck take(Tokens tokens) {
    if (answer == null || !answer.messageId.equals(tokens.messageId())) {
      return endedAck(tokens.messageId());
    }
    if (!answer.adopt(tokens.run())) {
      return replacedRun();
    }
    if (tokens.fromIndex() > answer.chunkCount()) {
      // Past what this owner holds (a new owner lost chunks that were not stored yet): no progress.
      // The generator goes back to the owner's count, or stops if its run started beyond it.
      return new TokenAck(true, answer.chunkCount(), fence);
    }
    answer.lastProgressMs = effects.nowMs();
    answer.awaitingGenerator = false;
    if (answer.generatorAddress == null) {
      answer.generatorAddress = tokens.generatorAddress();
    }
    int index = tokens.fromIndex();
    for (String text : tokens.texts()) {
      if (index == answer.chunkCount()) {
        appendChunk(text);
        if (answer.chars() >= settings.maxAnswerChars()) {
          return endAtLengthLimit();
        }
      } else if (index > answer.chunkCount()) {
        break;
      }
      index++;
    }
    return new TokenAck(true, answer.chunkCount(), fence);
  }

  /** The hot path: one event per token. */
  private void appendChunk(String text) {
    long seq = events.nextSeq();
    int index = answer.chunkCount();
    answer.addChunk(text, seq);
    if (index == 0 && answer.askedMs > 0) {
      effects.firstToken(effects.nowMs() - answer.askedMs);
    }
    events.append(LoggedEvent.chunk(seq, answer.messageId, index, text));
  }

  /** How far the owner is with an answer's tokens, for the generator's acknowledgement. */
  TokenAck progress(String messageId, long run) {
    if (answer == null || !answer.messageId.equals(messageId)) {
      return endedAck(messageId);
    }
    if (answer.run != run) {
      return replacedRun();
    }
    return new TokenAck(true, answer.chunkCount(), fence);
  }

  /** The answer reached the longest allowed: it ends there, complete, and its generator stops. */
  private TokenAck endAtLengthLimit() {
    String messageId = answer.messageId;
    String generator = answer.generatorAddress;
    int total = answer.chunkCount();
    long run = answer.run;
    effects.answerTruncated();
    finish(AnswerStatus.COMPLETED, null, null, LENGTH);
    effects.stopGeneration(messageId, generator, run);
    return new TokenAck(false, total, fence);
  }

  TokenAck generationEnded(GenerationEnded ended) {
    if (answer == null || !answer.messageId.equals(ended.messageId())) {
      return endedAck(ended.messageId());
    }
    if (!answer.adopt(ended.run())) {
      return replacedRun();
    }
    if (ended.totalChunks() > answer.chunkCount()) {
      return new TokenAck(true, answer.chunkCount(), fence);
    }
    int total = answer.chunkCount();
    finish(ended.status(), ended.errorCode(), ended.errorMessage(), ended.finishReason());
    return new TokenAck(false, total, fence);
  }

  /** The reply to a generator run that a newer run has replaced: not streaming, total unknown; it stops. */
  private TokenAck replacedRun() {
    return new TokenAck(false, -1, fence);
  }

  /**
   * The answer is not streaming here: if it ended, its total (the generator keeps it until told the
   * end is stored); if it is unknown, -1 (the generator lets it go).
   */
  private TokenAck endedAck(String messageId) {
    MessageView message = conversation.get(messageId);
    if (message == null || !message.isAssistant()) {
      return new TokenAck(false, -1, fence);
    }
    return new TokenAck(false, message.totalChunks() == null ? 0 : message.totalChunks(), fence);
  }

  // ---- the end ----

  private void finish(AnswerStatus status, AnswerError errorCode, String errorMessage, String finishReason) {
    Answer ended = answer;
    answer = null;
    if (!left) {
      effects.admission().release(admittedUser);
    }
    effects.answerEnded(admittedUser, status, errorCode);
    MessageView view = ended.view(status, errorCode, errorMessage,
        status == AnswerStatus.COMPLETED ? finishReason : null);
    conversation.remember(view);
    effects.conversationChanged(new DurableCommand.Write(sessionId, userId.get(), view.messageId(), view.encode(),
        null, false, effects.nowMs()));
    LoggedEvent event = events.append(LoggedEvent.COMPLETE, SessionFrames.complete(events.nextSeq(), view, status,
        errorCode, errorMessage), ended.messageId, ended.chunkCount(), view);
    if (ended.generatorAddress != null) {
      events.tellWhenStored(event, ended.generatorAddress);
    }
  }

  // ---- a new owner ----

  /**
   * The answer that was streaming when the session changed owner. Its generator may still be
   * running (its relay finds this owner), or be gone with the old owner: {@link #tick} decides.
   */
  void restore(List<StoredEvent> streaming) {
    if (streaming.isEmpty() || !LoggedEvent.STREAM_START.equals(streaming.get(0).type())) {
      return;
    }
    SessionFrames.StreamStart start = SessionFrames.readStreamStart(streaming.get(0).json());
    MessageView stored = conversation.remove(start.messageId());
    String createdAt = stored == null ? Instant.ofEpochMilli(effects.nowMs()).toString() : stored.createdAt();
    MessageView continued = start.continues() == null ? null : conversation.get(start.continues());
    answer = new Answer(start.messageId(), start.replyTo(), createdAt, start.continues(), start.clientMessageId(),
        continued == null ? "" : conversation.chainText(continued), Answer.UNKNOWN_RUN, effects.nowMs());
    answer.awaitingGenerator = true;
    admittedUser = userId.get();
    effects.admission().acquireAnyway(admittedUser);
    for (StoredEvent event : streaming.subList(1, streaming.size())) {
      if (LoggedEvent.CHUNK.equals(event.type())) {
        SessionFrames.Chunk chunk = SessionFrames.readChunk(event.json());
        if (chunk.index() == answer.chunkCount()) {
          answer.addChunk(chunk.content(), event.seq());
        }
      }
    }
  }
}
