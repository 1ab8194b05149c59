package io.streamchat.protocol;

import java.util.List;

/** Replies of a session owner to {@link SessionCommand}s. */
public sealed interface SessionReply {

  record Accepted() implements SessionReply {
  }

  /** A connection is attached to the owner on cluster node {@code ownerNode} holding fencing token {@code fence}. */
  record Attached(long fence, String ownerNode) implements SessionReply {
  }

  record MessageAccepted(String sessionId, String messageId, String replyMessageId) implements SessionReply {
  }

  /** {@code found} false: the session had no conversation to delete. */
  record Deleted(boolean found) implements SessionReply {
  }

  record CancelResult(String messageId, CancelStatus status, Integer totalChunks) implements SessionReply {
  }

  record RecoveredChunk(int index, long seq, String content) {
  }

  record RecoverResult(RecoveryStatus status, String messageId, List<RecoveredChunk> chunks) implements SessionReply {
  }

  record History(String json) implements SessionReply {
  }

  /**
   * Answer to {@link SessionCommand.Tokens} and {@link SessionCommand.GenerationEnded}: whether the
   * answer still streams and the next chunk index the owner expects (for an ended answer its
   * total, -1 when the owner does not know it), from the owner holding {@code fence}.
   */
  record TokenAck(boolean streaming, int nextIndex, long fence) implements SessionReply {
  }
}
