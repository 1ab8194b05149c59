package io.streamchat.session;

import io.streamchat.protocol.AnswerStatus;
import io.streamchat.protocol.CancelStatus;
import io.streamchat.protocol.RecoveryStatus;
import io.streamchat.protocol.CacheCommand.Claimed;
import io.streamchat.protocol.CacheCommand.StoredEvent;
import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.Characters;
import io.streamchat.protocol.DurableCommand;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.FrameBatch.Frame;
import io.streamchat.protocol.SessionCommand;
import io.streamchat.protocol.SessionCommand.Attach;
import io.streamchat.protocol.SessionCommand.Cancel;
import io.streamchat.protocol.SessionCommand.Continue;
import io.streamchat.protocol.SessionCommand.Credit;
import io.streamchat.protocol.SessionCommand.GenerationEnded;
import io.streamchat.protocol.SessionCommand.Reconnect;
import io.streamchat.protocol.SessionCommand.Regenerate;
import io.streamchat.protocol.SessionCommand.Recover;
import io.streamchat.protocol.SessionCommand.SendMessage;
import io.streamchat.protocol.SessionCommand.Tokens;
import io.streamchat.protocol.SessionReply.CancelResult;
import io.streamchat.protocol.SessionReply.MessageAccepted;
import io.streamchat.protocol.SessionReply.RecoverResult;
import io.streamchat.protocol.SessionReply.RecoveredChunk;
import io.streamchat.protocol.SessionReply.TokenAck;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * One chat session, single-threaded: the commands of its clients and generators. It checks and
 * records messages, starts and cancels answers (the {@link StreamingAnswer} carries one through
 * its generator runs), serves attachments, resumes and the history, and hands every event to the
 * {@link SessionLog}, which delivers it and tracks what is stored. It does no I/O; it asks for it
 * through {@link SessionEffects}.
 */
final class SessionActor {

  private final String sessionId;
  private final SessionSettings settings;
  private final SessionEffects effects;
  private final String epoch;
  private final long fence;
  private final EventLog log;
  private final Conversation conversation;
  private final AttachedConnections connections;
  private final SessionLog events;
  private final StreamingAnswer answers;
  private String userId;
  private long lastActivityMs;

  SessionActor(String sessionId, SessionSettings settings, SessionEffects effects, Claimed state) {
    this.sessionId = sessionId;
    this.settings = settings;
    this.effects = effects;
    this.epoch = state.epoch();
    this.fence = state.fence();
    this.userId = state.userId() == null || state.userId().isEmpty() ? null : state.userId();
    this.log = new EventLog(settings.replayEvents(), state.lastSeq());
    this.conversation = new Conversation(sessionId, settings.maxMessages());
    this.connections = new AttachedConnections(log, fence, settings.windowFrames(), this::historyFrame, effects::deliver);
    this.events = new SessionLog(log, connections, effects, state.lastSeq());
    this.answers = new StreamingAnswer(sessionId, settings, effects, fence, conversation, events, this::userId);
    this.lastActivityMs = effects.nowMs();
    for (String json : state.messages()) {
      conversation.remember(MessageView.fromJson(json));
    }
    log.restore(state.recentEvents().stream().map(SessionFrames::readStored).toList());
    answers.restore(state.streamingEvents());
  }

  String epoch() {
    return epoch;
  }

  long fence() {
    return fence;
  }

  String userId() {
    return userId;
  }

  /**
   * Whether the command would start a new answer now: it is no repeat and nothing streams. Only then
   * is the user's cluster-wide limit asked; a repeat is answered and a busy session refused without it,
   * and a regenerate or continue that cannot be carried out is refused here (thrown), as it would be
   * when run.
   */
  boolean wouldStartAnswer(SessionCommand command) {
    if (answers.current() != null) {
      return false;
    }
    if (command instanceof SendMessage send) {
      return conversation.repeatedMessage(send.requestId(), send.clientMessageId()) == null;
    } else if (command instanceof Regenerate regenerate) {
      if (conversation.repeatedRegeneration(regenerate.requestId(), regenerate.clientMessageId()) != null) {
        return false;
      }
      // A request that cannot be carried out is refused as such, before any limit is counted.
      questionToAnswerAgain();
      return true;
    } else if (command instanceof Continue request) {
      if (conversation.repeatedRequest(request.requestId()) != null) {
        return false;
      }
      continuation(request);
      return true;
    }
    return false;
  }

  /** Whether an answer streams in this session. */
  boolean streaming() {
    return answers.current() != null;
  }

  /** A session belongs to its first user: anyone else is refused. A null user is an anonymous caller. */
  void authorize(String user) {
    if (user != null && userId != null && !userId.equals(user)) {
      throw new ChatException(ErrorCode.FORBIDDEN);
    }
  }

  long lastSeq() {
    return log.lastSeq();
  }

  /** Redis holds every event up to this seq. */
  long storedSeq() {
    return events.storedSeq();
  }

  /** The event from memory, or null when memory no longer holds it. */
  LoggedEvent heldEvent(long seq) {
    return log.get(seq);
  }

  long unstoredCount() {
    return events.unstoredCount();
  }

  // ---- connections ----

  void attach(Attach attach) {
    touch();
    Connection connection = connections.open(attach, effects.nowMs());
    if (connection == null) {
      return;
    }
    if (userId == null && attach.userId() != null) {
      userId = attach.userId();
    }
    long head = log.lastSeq();
    if (!attach.hasCursor()) {
      AttachedConnections.queue(connection, head, historyFrame());
    } else if (epoch.equals(attach.epoch()) && log.canServeAfter(attach.lastSeq())) {
      effects.resumed(true);
      connection.nextSeq = attach.lastSeq() + 1;
      if (!attach.quietRecovery()) {
        AttachedConnections.queue(connection, attach.lastSeq(),
            SessionFrames.recovered(head, log.countChunksAfter(attach.lastSeq())));
      }
    } else {
      effects.resumed(false);
      AttachedConnections.queue(connection, head, SessionFrames.reset(head));
      AttachedConnections.queue(connection, head, historyFrame());
    }
    connections.pump(connection);
  }

  void detach(String connectionId) {
    touch();
    connections.detach(connectionId);
  }

  void credit(Credit credit) {
    connections.credit(credit, effects.nowMs());
  }

  /** Whether a connection is attached here; commands of an unknown connection mean it must attach again. */
  boolean hasConnection(String connectionId) {
    return connections.contains(connectionId);
  }

  /** Every connection, dropped: the gateways re-attach them wherever the session lives next. */
  Collection<Connection> detachAll() {
    return connections.detachAll();
  }

  // ---- messages and answers ----

  MessageAccepted send(SendMessage send) {
    touch();
    MessageAccepted repeated = conversation.repeatedMessage(send.requestId(), send.clientMessageId());
    if (repeated != null) {
      return repeated;
    }
    if (send.content() == null || send.content().isEmpty()) {
      throw new ChatException(ErrorCode.BAD_REQUEST, "content must be a non-empty string");
    }
    if (Characters.over(send.content(), settings.maxMessageChars())) {
      throw new ChatException(ErrorCode.TOO_LARGE,
          "content exceeds the message limit of " + settings.maxMessageChars() + " characters");
    }
    requireIdle();
    answers.admit(userId != null ? userId : send.userId());
    if (userId == null) {
      userId = send.userId();
    }
    String createdAt = now();
    MessageView user = new MessageView(effects.newId(), MessageView.USER, send.content(), AnswerStatus.COMPLETED, createdAt,
        null, send.clientMessageId(), null, null, null, null, null);
    conversation.remember(user);
    effects.conversationChanged(new DurableCommand.Write(sessionId, userId, user.messageId(), user.encode(),
        DurableCommand.Write.titleOf(user.content()), true, effects.nowMs()));
    events.append(LoggedEvent.USER_MESSAGE, SessionFrames.userMessage(events.nextSeq(), user), user.messageId(), -1, user);

    MessageAccepted accepted = answers.start(user.messageId(), null, null, "", createdAt);
    conversation.messageAccepted(accepted, send.requestId(), send.clientMessageId());
    return accepted;
  }

  /** A new answer to the last user message; the earlier answers to it stay in the history. */
  MessageAccepted regenerate(Regenerate regenerate) {
    touch();
    MessageAccepted repeated = conversation.repeatedRegeneration(regenerate.requestId(), regenerate.clientMessageId());
    if (repeated != null) {
      return repeated;
    }
    Answer answer = answers.current();
    if (answer != null && regenerate.clientMessageId() != null && regenerate.clientMessageId().equals(answer.clientMessageId)) {
      return new MessageAccepted(sessionId, answer.replyTo, answer.messageId);
    }
    requireIdle();
    MessageView question = questionToAnswerAgain();
    answers.admit(userId != null ? userId : regenerate.userId());
    MessageAccepted accepted = answers.start(question.messageId(), null, regenerate.clientMessageId(), "", now());
    answerStreaming();
    conversation.regenerationAccepted(accepted, regenerate.requestId(), regenerate.clientMessageId());
    return accepted;
  }

  /**
   * A new answer that goes on from where an earlier one stopped (cancelled, failed, interrupted,
   * or cut at the provider's length limit): the provider is given the text so far as the start of
   * its answer.
   */
  MessageAccepted continueAnswer(Continue request) {
    touch();
    MessageAccepted repeated = conversation.repeatedRequest(request.requestId());
    if (repeated != null) {
      return repeated;
    }
    requireIdle();
    Continuation continuation = continuation(request);
    answers.admit(userId != null ? userId : request.userId());
    MessageAccepted accepted = answers.start(continuation.target().replyTo(), continuation.target().messageId(), null,
        continuation.prefix(), now());
    answerStreaming();
    conversation.requestAccepted(accepted, request.requestId());
    return accepted;
  }

  private MessageView questionToAnswerAgain() {
    MessageView question = conversation.lastQuestion();
    if (question == null) {
      throw new ChatException(ErrorCode.NOT_FOUND, "this session has no message to answer again");
    }
    return question;
  }

  /** The answer a continuation goes on from (the end of its chain) and its text so far. */
  private record Continuation(MessageView target, String prefix) {
  }

  private Continuation continuation(Continue request) {
    String targetId = request.messageId() != null ? request.messageId() : latestAnswerId();
    MessageView target = conversation.get(targetId);
    if (target == null) {
      throw new ChatException(ErrorCode.NOT_FOUND, targetId == null ? "this session has no answer to continue"
          : "no message " + targetId + " in this session");
    }
    if (!target.isAssistant()) {
      throw new ChatException(ErrorCode.BAD_REQUEST, "only an assistant message can be continued");
    }
    MessageView end = conversation.chainEnd(target);
    if (end.status() == AnswerStatus.COMPLETED && !StreamingAnswer.LENGTH.equals(end.finishReason())) {
      throw new ChatException(ErrorCode.BAD_REQUEST, end == target
          ? "this answer is complete; only an answer that was cut at the length limit, cancelled, failed or "
              + "interrupted can be continued"
          : "this answer was continued until it was complete (" + end.messageId() + ")");
    }
    // An answer continued before goes on from where its newest continuation stops.
    target = end;
    String prefix = conversation.chainText(target);
    if (prefix.length() >= settings.maxAnswerChars()) {
      throw new ChatException(ErrorCode.BAD_REQUEST, "this answer is as long as an answer may be ("
          + settings.maxAnswerChars() + " characters); it cannot be continued");
    }
    return new Continuation(target, prefix);
  }

  /** The conversation list shows an answer streaming (one that answers no new user message). */
  private void answerStreaming() {
    effects.conversationChanged(new DurableCommand.Write(sessionId, userId, null, null, null, true, effects.nowMs()));
  }

  /** A new answer can start: none streams, and storage keeps up. */
  private void requireIdle() {
    if (answers.current() != null) {
      throw new ChatException(ErrorCode.BUSY);
    }
    if (unstoredCount() > settings.maxUnstoredEvents()) {
      throw new ChatException(ErrorCode.UNAVAILABLE, "storage is behind; try again shortly");
    }
    if (effects.durableTierBehind()) {
      throw new ChatException(ErrorCode.UNAVAILABLE, "the conversation store is behind; try again shortly");
    }
  }

  /** Cancels as many times as the connection asked; the result is the first one's. */
  CancelResult cancel(Cancel cancel) {
    CancelResult first = cancelOnce(cancel);
    for (int repeat = 1; repeat < cancel.times(); repeat++) {
      cancelOnce(cancel);
    }
    return first;
  }

  private CancelResult cancelOnce(Cancel cancel) {
    touch();
    Answer answer = answers.current();
    String messageId = cancel.messageId() != null ? cancel.messageId() : answer == null ? null : answer.messageId;
    long before = log.lastSeq();
    CancelResult result;
    if (messageId == null) {
      result = new CancelResult(null, CancelStatus.NOT_FOUND, null);
    } else if (answer != null && answer.messageId.equals(messageId)) {
      result = new CancelResult(messageId, CancelStatus.CANCELLING, answer.chunkCount());
    } else {
      MessageView message = conversation.get(messageId);
      if (message == null || !message.isAssistant()) {
        result = new CancelResult(messageId, CancelStatus.NOT_FOUND, null);
      } else {
        CancelStatus status = message.status() == AnswerStatus.CANCELLED
            ? CancelStatus.ALREADY_CANCELLED : CancelStatus.ALREADY_COMPLETED;
        result = new CancelResult(messageId, status, message.totalChunks());
      }
    }
    Connection connection = connections.replyTarget(cancel.connectionId());
    if (connection != null) {
      AttachedConnections.queue(connection, before, SessionFrames.cancelAck(result));
      connections.pump(connection);
    }
    if (result.status() == CancelStatus.CANCELLING) {
      answers.cancel();
    }
    return result;
  }

  void reconnect(Reconnect reconnect) {
    touch();
    Connection connection = connections.replyTarget(reconnect.connectionId());
    if (connection == null) {
      return;
    }
    long after = log.lastSeq();
    RecoveryStatus status;
    int chunks = 0;
    List<LoggedEvent> resend = new ArrayList<>();
    Answer answer = answers.current();
    if (answer != null && answer.messageId.equals(reconnect.messageId())) {
      status = RecoveryStatus.RECOVERED;
      for (int index = Math.max(0, reconnect.lastChunkIndex() + 1); index < answer.chunkCount(); index++) {
        long seq = answer.chunkSeq(index);
        resend.add(LoggedEvent.chunk(seq, answer.messageId, index, answer.chunk(index)));
      }
    } else if (conversation.isAssistant(reconnect.messageId())) {
      status = RecoveryStatus.COMPLETE;
      resend.addAll(log.eventsOf(reconnect.messageId(), reconnect.lastChunkIndex()));
    } else {
      status = RecoveryStatus.NOT_FOUND;
    }
    for (LoggedEvent event : resend) {
      AttachedConnections.queue(connection, after, event.frame());
      chunks += event.isChunk() ? 1 : 0;
    }
    AttachedConnections.queue(connection, after, SessionFrames.reconnected(status, reconnect.messageId(), chunks, after));
    connections.pump(connection);
  }

  RecoverResult recover(Recover recover) {
    touch();
    String messageId = recover.messageId() != null ? recover.messageId() : latestAnswerId();
    List<RecoveredChunk> chunks = new ArrayList<>();
    Answer answer = answers.current();
    if (messageId != null && answer != null && answer.messageId.equals(messageId)) {
      for (int index = Math.max(0, recover.lastChunkIndex() + 1); index < answer.chunkCount(); index++) {
        chunks.add(new RecoveredChunk(index, answer.chunkSeq(index), answer.chunk(index)));
      }
      return new RecoverResult(RecoveryStatus.RECOVERED, messageId, chunks);
    }
    if (messageId != null && conversation.isAssistant(messageId)) {
      for (LoggedEvent event : log.eventsOf(messageId, recover.lastChunkIndex())) {
        if (event.isChunk()) {
          chunks.add(new RecoveredChunk(event.index(), event.seq(), event.chunkContent()));
        }
      }
      return new RecoverResult(RecoveryStatus.COMPLETE, messageId, chunks);
    }
    return new RecoverResult(RecoveryStatus.NOT_FOUND, messageId, chunks);
  }

  // ---- the generator ----

  void generatorStarted(String messageId, long run, String generatorAddress) {
    answers.generatorStarted(messageId, run, generatorAddress);
  }

  void generatorUnreachable(String messageId, long run, String why) {
    answers.generatorUnreachable(messageId, run, why);
  }

  void generatorNodeLeft(String clusterNodeId) {
    answers.generatorNodeLeft(clusterNodeId);
  }

  TokenAck tokens(Tokens tokens) {
    touch();
    return answers.tokens(tokens);
  }

  TokenAck progress(String messageId, long run) {
    return answers.progress(messageId, run);
  }

  TokenAck generationEnded(GenerationEnded ended) {
    return answers.generationEnded(ended);
  }

  // ---- reads ----

  /** The {@code history} reply's JSON; without its {@code type} for the HTTP API. */
  String history(boolean withType) {
    return SessionFrames.history(sessionId, epoch, log.lastSeq(), conversation.messages(),
        answers.current() == null ? null : answers.current().streamingView(), settings.maxMessages(), withType);
  }

  // ---- storage ----

  List<StoredEvent> unstored(int max) {
    return events.unstored(max);
  }

  void stored(long seq) {
    events.stored(seq);
  }

  // ---- time ----

  /** Goes on with an answer whose generator went silent, and drops connections not heard from. */
  void tick() {
    long now = effects.nowMs();
    answers.tick(now);
    connections.dropSilent(now, settings.connectionTimeoutMs());
  }

  /** An answer restored from storage whose generator has not spoken to this owner yet. */
  boolean waitsForGenerator() {
    return answers.waitsForGenerator();
  }

  /** Idle: nobody attached, nothing streaming, everything stored, for the idle time. */
  boolean canPassivate() {
    return connections.isEmpty() && answers.current() == null && events.unstoredCount() == 0
        && effects.nowMs() - lastActivityMs >= settings.idleMs();
  }

  // ---- internals ----

  /**
   * The newest finished messages again, for the durable tier (idempotent writes): after an owner
   * died, the changes it had queued for the durable tier may never have been written.
   */
  void rewriteRecentMessages(int max) {
    List<MessageView> all = new ArrayList<>(conversation.messages());
    for (MessageView message : all.subList(Math.max(0, all.size() - max), all.size())) {
      if (message.status() == AnswerStatus.STREAMING) {
        continue;
      }
      effects.conversationChanged(new DurableCommand.Write(sessionId, userId, message.messageId(),
          message.encode(), message.isAssistant() ? null : DurableCommand.Write.titleOf(message.content()), answers.current() != null,
          effects.nowMs()));
    }
  }

  /** Whether the session holds a conversation (any event or message). */
  boolean hasConversation() {
    return log.lastSeq() > 0 || !conversation.messages().isEmpty();
  }

  /** The conversation is being deleted: an answer streaming is stopped at its generator, with no event. */
  void abandonAnswer() {
    answers.abandon();
  }

  /** This node no longer owns the session: an answer still streaming goes on elsewhere and stops counting here. */
  void leave() {
    answers.leave();
  }

  private Frame historyFrame() {
    return SessionFrames.historyFrame(history(true));
  }

  /** The answer streaming now, else the last assistant message; or null. */
  private String latestAnswerId() {
    return answers.current() != null ? answers.current().messageId : conversation.latestAnswerId();
  }

  private void touch() {
    lastActivityMs = effects.nowMs();
  }

  private String now() {
    return Instant.ofEpochMilli(effects.nowMs()).toString();
  }
}
