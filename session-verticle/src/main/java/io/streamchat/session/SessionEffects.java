package io.streamchat.session;

import io.streamchat.protocol.AiCommand.ContextMessage;
import io.streamchat.protocol.AnswerError;
import io.streamchat.protocol.AnswerStatus;
import io.streamchat.protocol.DurableCommand;
import io.streamchat.protocol.FrameBatch;
import java.util.List;

/** What a session actor asks of the world. The verticle carries each out. */
interface SessionEffects extends SessionLog.Outlet {

  /** Frames for one connection, to its gateway, in order. */
  void deliver(String gatewayAddress, FrameBatch batch);

  /**
   * Asks a bridge to generate run {@code run} of an answer: from the conversation {@code context}
   * (ending with the question), going on from {@code prefix}, its tokens numbered from {@code fromIndex}.
   */
  void startGeneration(String messageId, List<ContextMessage> context, String prefix, int fromIndex, long run);

  /** Stops run {@code run} of an answer at its generator, if that is known. */
  void stopGeneration(String messageId, String generatorAddress, long run);

  /** An answer lost its generator and goes on with a new run from chunk {@code fromIndex}. */
  void generationContinued(String messageId, int fromIndex, String why);

  /** A new generator run id, never {@link Answer#UNKNOWN_RUN}, unlike any an earlier owner used. */
  long newRun();

  /** An answer reached CHAT_MAX_ANSWER_CHARS and was ended there. */
  void answerTruncated();

  /** A change of the conversation for the durable tier (a finished message, or whether an answer streams). */
  void conversationChanged(DurableCommand.Write write);

  /** The durable tier is so far behind that new messages must wait. */
  boolean durableTierBehind();

  /** The node's admission limit on answers streaming at once. */
  AnswerAdmission admission();

  /**
   * An answer of {@code userId} (null: anonymous) ended as {@code status} ({@code errorCode} when it
   * failed or was interrupted): it no longer counts against the user's limit.
   */
  void answerEnded(String userId, AnswerStatus status, AnswerError errorCode);

  /** An answer's first token arrived {@code afterMs} after its question was taken. */
  void firstToken(long afterMs);

  /** A connection came back with a cursor: the events it missed follow ({@code recovered}), or it starts over. */
  void resumed(boolean recovered);

  long nowMs();

  String newId();
}
