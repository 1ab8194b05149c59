package io.streamchat.session;

import io.streamchat.protocol.AiCommand.ContextMessage;
import io.streamchat.protocol.FrameBatch;
import java.util.List;

/** What a session actor asks of the world. The verticle carries each out. */
interface SessionEffects {

  /** Frames for one connection, to its gateway, in order. */
  void deliver(String gatewayAddress, FrameBatch batch);

  /** A new event, for internal consumers and the audit log. */
  void publish(LoggedEvent event);

  /** New events wait to be stored. */
  void persist();

  void startGeneration(String messageId, List<ContextMessage> context);

  void stopGeneration(String messageId, String generatorAddress);

  /** Tells a generator its answer's end is stored, so it can forget the answer. */
  void answerStored(String messageId, String generatorAddress);

  /** An answer reached CHAT_MAX_ANSWER_CHARS and was ended there. */
  void answerTruncated();

  /** The node's admission limit on answers streaming at once. */
  AnswerAdmission admission();

  long nowMs();

  String newId();
}
