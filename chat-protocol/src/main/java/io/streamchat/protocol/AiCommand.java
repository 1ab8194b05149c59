package io.streamchat.protocol;

import java.util.List;

/** Commands to AI bridges. */
public sealed interface AiCommand {

  record ContextMessage(String role, String content) {
  }

  /** Starts an answer; sent to {@link Addresses#AI_GENERATE}; the reply is the bridge's own address. */
  record Generate(String sessionId, String messageId, String userId, List<ContextMessage> context)
      implements AiCommand {
  }

  /** Stops an answer at once; sent to the bridge that runs it by the owner holding {@code fence}. */
  record StopGeneration(String sessionId, String messageId, long fence) implements AiCommand {
  }

  /** The owner has durably stored the answer's end: its generator may forget it. */
  record AnswerStored(String sessionId, String messageId) implements AiCommand {
  }
}
