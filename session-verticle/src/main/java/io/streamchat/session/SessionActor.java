package io.streamchat.session;

import io.streamchat.protocol.AnswerError;
import io.streamchat.protocol.AnswerStatus;
import io.streamchat.protocol.CancelStatus;
import io.streamchat.protocol.RecoveryStatus;
import io.streamchat.protocol.CacheCommand.Claimed;
import io.streamchat.protocol.CacheCommand.StoredEvent;
import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.DurableCommand;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.FrameBatch;
import io.streamchat.protocol.FrameBatch.Frame;
import io.streamchat.protocol.SessionCommand;
import io.streamchat.protocol.SessionCommand.Attach;
import io.streamchat.protocol.Addresses;
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
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One chat session, single-threaded: it numbers every event, keeps the log and the history,
 * decides what each attached connection gets next, and tracks what is stored. It does no I/O; it
 * asks for it through {@link SessionEffects}.
 */
final class SessionActor {

  /**
   * A restored answer (the owner changed while it streamed) waits this long for its generator to
   * speak (a living relay finds the new owner within about a second: it resends what was not
   * acknowledged after CHAT_AI_DELIVERY_TIMEOUT_MS) before another run goes on from the last
   * stored chunk. Should the old generator speak later, its run is refused and stops.
   */
  static final long RESTORED_GENERATOR_GRACE_MS = 3000;
  private static final String LENGTH = "length";

  private final String sessionId;
  private final SessionSettings settings;
  private final SessionEffects effects;
  private final String epoch;
  private final long fence;
  private final EventLog log;
  private final Conversation conversation;
  private final AttachedConnections connections;
  private String userId;
  private long storedSeq;
  private Answer answer;
  /** Ended answers whose generator waits to hear that the end is stored, by message id. */
  private final Map<String, LoggedEvent> awaitingStore = new LinkedHashMap<>();
  private final Map<String, String> generators = new HashMap<>();
  private long lastActivityMs;
  /** While tokens taken as they came are appended: when the provider gave them (see {@link FrameBatch}). */
  private long liveSinceMicros;
  /** The user whose admission slot the streaming answer holds. */
  private String admittedUser;
  /** The session has left this node: its answer's admission slot is released. */
  private boolean left;

  SessionActor(String sessionId, SessionSettings settings, SessionEffects effects, Claimed state) {
    this.sessionId = sessionId;
    this.settings = settings;
    this.effects = effects;
    this.epoch = state.epoch();
    this.fence = state.fence();
    this.userId = state.userId() == null || state.userId().isEmpty() ? null : state.userId();
    this.storedSeq = state.lastSeq();
    this.log = new EventLog(settings.replayEvents(), state.lastSeq());
    this.conversation = new Conversation(sessionId, settings.maxMessages());
    this.connections = new AttachedConnections(log, fence, settings.windowFrames(), this::historyFrame, effects::deliver);
    this.lastActivityMs = effects.nowMs();
    for (String json : state.messages()) {
      conversation.remember(MessageView.fromJson(json));
    }
    log.restore(state.recentEvents().stream().map(SessionFrames::readStored).toList());
    restoreAnswer(state.streamingEvents());
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
   * is the user's cluster-wide limit asked; a repeat is answered and a busy session refused without it.
   */
  boolean wouldStartAnswer(SessionCommand command) {
    if (answer != null) {
      return false;
    }
    if (command instanceof SendMessage send) {
      return conversation.repeatedMessage(send.requestId(), send.clientMessageId()) == null;
    } else if (command instanceof Regenerate regenerate) {
      return conversation.repeatedRegeneration(regenerate.requestId(), regenerate.clientMessageId()) == null;
    } else if (command instanceof Continue request) {
      return conversation.repeatedRequest(request.requestId()) == null;
    }
    return false;
  }

  /** Whether an answer streams in this session. */
  boolean streaming() {
    return answer != null;
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
    return storedSeq;
  }

  /** The event from memory, or null when memory no longer holds it. */
  LoggedEvent heldEvent(long seq) {
    return log.get(seq);
  }

  long unstoredCount() {
    return log.lastSeq() - storedSeq;
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
    if (send.content().length() > settings.maxMessageChars()) {
      throw new ChatException(ErrorCode.TOO_LARGE,
          "content exceeds the message limit of " + settings.maxMessageChars() + " characters");
    }
    requireIdle();
    admit(userId != null ? userId : send.userId());
    if (userId == null) {
      userId = send.userId();
    }
    String createdAt = now();
    MessageView user = new MessageView(effects.newId(), MessageView.USER, send.content(), AnswerStatus.COMPLETED, createdAt,
        null, send.clientMessageId(), null, null, null, null, null);
    conversation.remember(user);
    effects.conversationChanged(new DurableCommand.Write(sessionId, userId, user.messageId(), user.encode(),
        DurableCommand.Write.titleOf(user.content()), true, effects.nowMs()));
    append(LoggedEvent.USER_MESSAGE, SessionFrames.userMessage(nextSeq(), user), user.messageId(), -1, user);

    MessageAccepted accepted = startAnswer(user.messageId(), null, null, "", createdAt);
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
    if (answer != null && regenerate.clientMessageId() != null && regenerate.clientMessageId().equals(answer.clientMessageId)) {
      return new MessageAccepted(sessionId, answer.replyTo, answer.messageId);
    }
    requireIdle();
    MessageView question = conversation.lastQuestion();
    if (question == null) {
      throw new ChatException(ErrorCode.NOT_FOUND, "this session has no message to answer again");
    }
    admit(userId != null ? userId : regenerate.userId());
    MessageAccepted accepted = startAnswer(question.messageId(), null, regenerate.clientMessageId(), "", now());
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
    String targetId = request.messageId() != null ? request.messageId() : latestAnswerId();
    MessageView target = conversation.get(targetId);
    if (target == null) {
      throw new ChatException(ErrorCode.NOT_FOUND, targetId == null ? "this session has no answer to continue"
          : "no message " + targetId + " in this session");
    }
    if (!target.isAssistant()) {
      throw new ChatException(ErrorCode.BAD_REQUEST, "only an assistant message can be continued");
    }
    if (target.status() == AnswerStatus.COMPLETED && !LENGTH.equals(target.finishReason())) {
      throw new ChatException(ErrorCode.BAD_REQUEST, "this answer is complete; only an answer that was cut at the "
          + "length limit, cancelled, failed or interrupted can be continued");
    }
    String prefix = conversation.chainText(target);
    if (prefix.length() >= settings.maxAnswerChars()) {
      throw new ChatException(ErrorCode.BAD_REQUEST, "this answer is as long as an answer may be ("
          + settings.maxAnswerChars() + " characters); it cannot be continued");
    }
    admit(userId != null ? userId : request.userId());
    MessageAccepted accepted = startAnswer(target.replyTo(), target.messageId(), null, prefix, now());
    answerStreaming();
    conversation.requestAccepted(accepted, request.requestId());
    return accepted;
  }

  private MessageAccepted startAnswer(String replyTo, String continues, String clientMessageId, String prefix,
                                      String createdAt) {
    answer = new Answer(effects.newId(), replyTo, createdAt, continues, clientMessageId, prefix, effects.newRun(),
        effects.nowMs());
    answer.askedMs = effects.nowMs();
    append(LoggedEvent.STREAM_START, SessionFrames.streamStart(nextSeq(), answer.messageId, replyTo, continues,
            clientMessageId),
        answer.messageId, -1, answer.streamingView());
    effects.startGeneration(answer.messageId, conversation.context(replyTo, settings.contextMessages()), prefix, 0, answer.run);
    return new MessageAccepted(sessionId, replyTo, answer.messageId);
  }

  /** The conversation list shows an answer streaming (one that answers no new user message). */
  private void answerStreaming() {
    effects.conversationChanged(new DurableCommand.Write(sessionId, userId, null, null, null, true, effects.nowMs()));
  }

  /** A new answer can start: none streams, and storage keeps up. */
  private void requireIdle() {
    if (answer != null) {
      throw new ChatException(ErrorCode.BUSY);
    }
    if (unstoredCount() > settings.maxUnstoredEvents()) {
      throw new ChatException(ErrorCode.UNAVAILABLE, "storage is behind; try again shortly");
    }
    if (effects.durableTierBehind()) {
      throw new ChatException(ErrorCode.UNAVAILABLE, "the conversation store is behind; try again shortly");
    }
  }

  CancelResult cancel(Cancel cancel) {
    touch();
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
      String generator = answer.generatorAddress;
      long run = answer.run;
      finish(AnswerStatus.CANCELLED, null, null, null);
      effects.stopGeneration(messageId, generator, run);
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
    if (answer != null && answer.messageId.equals(reconnect.messageId())) {
      status = RecoveryStatus.RECOVERED;
      for (int index = Math.max(0, reconnect.lastChunkIndex() + 1); index < answer.chunkCount(); index++) {
        long seq = answer.chunkSeq(index);
        resend.add(new LoggedEvent(seq, LoggedEvent.CHUNK, SessionFrames.chunk(seq, answer.messageId, index, answer.chunk(index)),
            answer.messageId, index, null));
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
    if (messageId != null && answer != null && answer.messageId.equals(messageId)) {
      for (int index = Math.max(0, recover.lastChunkIndex() + 1); index < answer.chunkCount(); index++) {
        chunks.add(new RecoveredChunk(index, answer.chunkSeq(index), answer.chunk(index)));
      }
      return new RecoverResult(RecoveryStatus.RECOVERED, messageId, chunks);
    }
    if (messageId != null && conversation.isAssistant(messageId)) {
      for (LoggedEvent event : log.eventsOf(messageId, recover.lastChunkIndex())) {
        if (event.isChunk()) {
          chunks.add(new RecoveredChunk(event.index(), event.seq(), SessionFrames.readChunk(event.json()).content()));
        }
      }
      return new RecoverResult(RecoveryStatus.COMPLETE, messageId, chunks);
    }
    return new RecoverResult(RecoveryStatus.NOT_FOUND, messageId, chunks);
  }

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
      effects.startGeneration(messageId, conversation.context(answer.replyTo, settings.contextMessages()), answer.prefix + answer.content(),
          answer.chunkCount(), answer.run);
      return;
    }
    finish(AnswerStatus.INTERRUPTED, AnswerError.GENERATOR_LOST, "the AI generator was lost: " + why, null);
    effects.stopGeneration(messageId, lost, lostRun);
  }

  TokenAck tokens(Tokens tokens) {
    liveSinceMicros = tokens.receivedAtMicros();
    try {
      return take(tokens);
    } finally {
      liveSinceMicros = 0;
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
    touch();
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

  // ---- reads ----

  /** The {@code history} reply's JSON; without its {@code type} for the HTTP API. */
  String history(boolean withType) {
    return SessionFrames.history(sessionId, epoch, log.lastSeq(), conversation.messages(),
        answer == null ? null : answer.streamingView(), settings.maxMessages(), withType);
  }

  // ---- storage ----

  List<StoredEvent> unstored(int max) {
    List<StoredEvent> batch = new ArrayList<>(Math.min(max, (int) unstoredCount()));
    for (long seq = storedSeq + 1; seq <= log.lastSeq() && batch.size() < max; seq++) {
      batch.add(log.get(seq).stored());
    }
    return batch;
  }

  void stored(long seq) {
    if (seq <= storedSeq) {
      return;
    }
    storedSeq = Math.min(seq, log.lastSeq());
    log.trim(storedSeq);
    for (Iterator<Map.Entry<String, LoggedEvent>> it = awaitingStore.entrySet().iterator(); it.hasNext(); ) {
      LoggedEvent end = it.next().getValue();
      if (end.seq() <= storedSeq) {
        effects.answerStored(end.messageId(), generators.remove(end.messageId()));
        it.remove();
      }
    }
  }

  // ---- time ----

  /** Goes on with an answer whose generator went silent, and drops connections not heard from. */
  void tick() {
    long now = effects.nowMs();
    if (answer != null) {
      long silentMs = now - answer.lastProgressMs;
      if (silentMs > settings.generatorTimeoutMs()) {
        generatorLost("it sent nothing for " + silentMs + " ms");
      } else if (answer.awaitingGenerator && silentMs > RESTORED_GENERATOR_GRACE_MS && mayContinue()) {
        generatorLost("it did not come back after the session changed owner");
      }
    }
    connections.dropSilent(now, settings.connectionTimeoutMs());
  }

  /** An answer restored from storage whose generator has not spoken to this owner yet. */
  boolean waitsForGenerator() {
    return answer != null && answer.awaitingGenerator;
  }

  /** Idle: nobody attached, nothing streaming, everything stored, for the idle time. */
  boolean canPassivate() {
    return connections.isEmpty() && answer == null && storedSeq == log.lastSeq()
        && effects.nowMs() - lastActivityMs >= settings.idleMs();
  }

  // ---- internals ----

  /** The hot path: one event per token. */
  private void appendChunk(String text) {
    long seq = nextSeq();
    int index = answer.chunkCount();
    String json = SessionFrames.chunk(seq, answer.messageId, index, text);
    answer.addChunk(text, seq);
    if (index == 0 && answer.askedMs > 0) {
      effects.firstToken(effects.nowMs() - answer.askedMs);
    }
    append(new LoggedEvent(seq, LoggedEvent.CHUNK, json, answer.messageId, index, null));
  }

  /** Refuses a new answer, before anything of it is appended, when the node or the user has too many streaming. */
  private void admit(String user) {
    switch (effects.admission().tryAcquire(user)) {
      case NODE_FULL -> throw new ChatException(ErrorCode.RATE_LIMITED,
          "this server is streaming as many answers as it is configured to; try again shortly");
      case USER_FULL -> throw new ChatException(ErrorCode.RATE_LIMITED,
          "too many of your answers are streaming at once; try again when one has finished");
      case ADMITTED -> admittedUser = user;
    }
  }

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
          message.encode(), message.isAssistant() ? null : DurableCommand.Write.titleOf(message.content()), answer != null,
          effects.nowMs()));
    }
  }

  /** Whether the session holds a conversation (any event or message). */
  boolean hasConversation() {
    return log.lastSeq() > 0 || !conversation.messages().isEmpty();
  }

  /** The conversation is being deleted: an answer streaming is stopped at its generator, with no event. */
  void abandonAnswer() {
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
    effects.conversationChanged(new DurableCommand.Write(sessionId, userId, view.messageId(), view.encode(),
        null, false, effects.nowMs()));
    LoggedEvent event = append(LoggedEvent.COMPLETE, SessionFrames.complete(nextSeq(), view, status, errorCode,
        errorMessage), ended.messageId, ended.chunkCount(), view);
    if (ended.generatorAddress != null) {
      awaitingStore.put(ended.messageId, event);
      generators.put(ended.messageId, ended.generatorAddress);
    }
  }

  private long nextSeq() {
    return log.lastSeq() + 1;
  }

  private LoggedEvent append(String type, String json, String messageId, int index, MessageView message) {
    return append(new LoggedEvent(nextSeq(), type, json, messageId, index,
        message == null ? null : message.encode()));
  }

  private LoggedEvent append(LoggedEvent event) {
    log.append(event, storedSeq);
    effects.publish(event);
    connections.pumpAll(liveSinceMicros);
    effects.persist();
    return event;
  }

  private Frame historyFrame() {
    return SessionFrames.historyFrame(history(true));
  }

  /** The answer streaming now, else the last assistant message; or null. */
  private String latestAnswerId() {
    return answer != null ? answer.messageId : conversation.latestAnswerId();
  }

  /**
   * The answer that was streaming when the session changed owner. Its generator may still be
   * running (its relay finds this owner), or be gone with the old owner: {@link #tick} decides.
   */
  private void restoreAnswer(List<StoredEvent> streaming) {
    if (streaming.isEmpty() || !LoggedEvent.STREAM_START.equals(streaming.get(0).type())) {
      return;
    }
    SessionFrames.StreamStart start = SessionFrames.readStreamStart(streaming.get(0).json());
    MessageView stored = conversation.remove(start.messageId());
    String createdAt = stored == null ? now() : stored.createdAt();
    MessageView continued = start.continues() == null ? null : conversation.get(start.continues());
    answer = new Answer(start.messageId(), start.replyTo(), createdAt, start.continues(), start.clientMessageId(),
        continued == null ? "" : conversation.chainText(continued), Answer.UNKNOWN_RUN, effects.nowMs());
    answer.awaitingGenerator = true;
    admittedUser = userId;
    effects.admission().acquireAnyway(userId);
    for (StoredEvent event : streaming.subList(1, streaming.size())) {
      if (LoggedEvent.CHUNK.equals(event.type())) {
        SessionFrames.Chunk chunk = SessionFrames.readChunk(event.json());
        if (chunk.index() == answer.chunkCount()) {
          answer.addChunk(chunk.content(), event.seq());
        }
      }
    }
  }

  private void touch() {
    lastActivityMs = effects.nowMs();
  }

  private String now() {
    return Instant.ofEpochMilli(effects.nowMs()).toString();
  }
}
