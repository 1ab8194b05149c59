package io.streamchat.protocol;

import java.util.List;

/** Commands to AI bridges. */
public sealed interface AiCommand {

  record ContextMessage(String role, String content) {
  }

  /**
   * Starts an answer; sent to {@link Addresses#AI_GENERATE}; the reply is the bridge's own address.
   * {@code context} ends with the question. A continuation gives the answer's text so far as
   * {@code prefix} (empty for a new answer): the provider goes on from its end, and the tokens it
   * produces are numbered from {@code fromIndex}. {@code run} names this run of a generator for
   * the answer: tokens of an older run are refused. {@code fence} is the asking owner's: a bridge
   * replaces a run of the answer only for an owner at least as new as the one it last heard from.
   */
  record Generate(String sessionId, String messageId, String userId, List<ContextMessage> context, String prefix,
                  int fromIndex, long run, long fence)
      implements AiCommand {
    public Generate(String sessionId, String messageId, String userId, List<ContextMessage> context) {
      this(sessionId, messageId, userId, context, "", 0, 1, 0);
    }
  }

  /** Stops run {@code run} of an answer at once; sent to the bridge that runs it by the owner holding {@code fence}. */
  record StopGeneration(String sessionId, String messageId, long fence, long run) implements AiCommand {
  }

  /**
   * The owner's bulk acknowledgement of tokens streamed to it: whether the answer still streams,
   * the next chunk index it expects (for an ended answer its total, -1 when unknown), from the
   * owner holding {@code fence}, for generator run {@code run}. Sent to the generator's bridge a few
   * times a second.
   */
  record TokensTaken(String sessionId, String messageId, boolean streaming, int nextIndex, long fence, long run)
      implements AiCommand {
  }

  /** The owner has durably stored the answer's end: its generator may forget it. */
  record AnswerStored(String sessionId, String messageId) implements AiCommand {
  }
}
