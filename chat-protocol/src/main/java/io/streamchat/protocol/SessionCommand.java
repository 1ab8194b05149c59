package io.streamchat.protocol;

import java.util.List;

/** Commands to a session owner, sent to {@link Addresses#session(String)}. All are idempotent or deduplicated. */
public sealed interface SessionCommand {

  /**
   * A command made for a user: the owner refuses it {@code forbidden} when the session belongs to
   * another user. {@code userId} null means an anonymous caller (only when authentication is off).
   */
  interface ForUser {
    String userId();
  }

  /**
   * A command that may change the conversation, sent from a socket ({@code connectionId}) or, when
   * that is null, over the API, whose caller is replied to once the durable tier has the change.
   */
  interface ChangesConversation {
    String connectionId();
  }

  /** Asks whether {@code userId} may use the session, before a socket or stream is opened for it. */
  record Authorize(String userId) implements SessionCommand, ForUser {
  }

  /**
   * A connection attaches. With a cursor ({@code lastSeq} and {@code epoch} both set) it resumes,
   * otherwise it gets a history snapshot. Frames for it go to {@code gatewayAddress}. Each new
   * attachment of one connection has a higher {@code generation}; the same one sent again (a
   * retry after a timeout) changes nothing.
   */
  record Attach(String connectionId, int generation, String gatewayAddress, String userId, Long lastSeq,
                String epoch, boolean quietRecovery) implements SessionCommand, ForUser {
    public boolean hasCursor() {
      return lastSeq != null && epoch != null;
    }
  }

  record Detach(String connectionId) implements SessionCommand {
  }

  /**
   * Flow control: how many frames the connection has taken so far. With {@code probe} it is also a
   * keep-alive that the owner answers, so that the gateway learns when the owner is gone.
   */
  record Credit(String connectionId, int generation, long framesReceived, boolean probe) implements SessionCommand {
  }

  /**
   * A user message. {@code connectionId} is null when it comes from the HTTP or event-bus API.
   * {@code requestId}, unique per request, makes a retry after a timeout harmless: the owner
   * answers a repeat with the original outcome.
   */
  record SendMessage(String connectionId, String userId, String content, String clientMessageId, String requestId)
      implements SessionCommand, ForUser, ChangesConversation {
    public SendMessage(String connectionId, String userId, String content, String clientMessageId) {
      this(connectionId, userId, content, clientMessageId, null);
    }
  }

  /**
   * A new answer to the session's last user message; the earlier answers stay. {@code clientMessageId}
   * and {@code requestId} make it idempotent as for {@link SendMessage}.
   */
  record Regenerate(String connectionId, String userId, String clientMessageId, String requestId)
      implements SessionCommand, ForUser, ChangesConversation {
  }

  /**
   * A new answer that goes on from where an earlier one stopped ({@code messageId}, or the last
   * assistant message when null).
   */
  record Continue(String connectionId, String userId, String messageId, String requestId)
      implements SessionCommand, ForUser, ChangesConversation {
  }

  /**
   * Deletes the conversation from every tier but the audit log: its connections are told and
   * closed, and the id then starts a new, empty conversation. Replied {@link SessionReply.Deleted}.
   */
  record DeleteConversation(String userId) implements SessionCommand, ForUser {
  }

  /**
   * {@code messageId} null means the answer streaming now. {@code times}: how many times in a row
   * the connection sent this cancel (its gateway joins a burst into one command); each is
   * acknowledged, the later ones as any repeated cancel is. Below 1 counts as 1.
   */
  record Cancel(String connectionId, String messageId, String userId, int times)
      implements SessionCommand, ForUser, ChangesConversation {

    /** The same cancel, sent once more. */
    public Cancel repeated() {
      return new Cancel(connectionId, messageId, userId, times + 1);
    }
  }

  /** The compat {@code reconnect} frame of a connection. */
  record Reconnect(String connectionId, String messageId, int lastChunkIndex) implements SessionCommand {
  }

  /** HTTP recovery: chunks of one message after an index. {@code messageId} null means the latest answer. */
  record Recover(String messageId, int lastChunkIndex, String userId) implements SessionCommand, ForUser {
  }

  /** The history snapshot, replied as the JSON of a {@code history} reply. */
  record GetHistory(String userId) implements SessionCommand, ForUser {
  }

  /**
   * Tokens of an answer from its generator (at {@code generatorAddress}, run {@code run}),
   * starting at chunk index {@code fromIndex}. An empty list is the generator's keep-alive.
   * {@code receivedAtMicros} ({@link WallClock#micros()}) is when the provider gave the newest token
   * of the answer, when it is among these; 0 otherwise (a catching-up batch is not timed).
   */
  record Tokens(String messageId, int fromIndex, List<String> texts, String generatorAddress, long run,
                long receivedAtMicros)
      implements SessionCommand {

    public Tokens(String messageId, int fromIndex, List<String> texts, String generatorAddress, long run) {
      this(messageId, fromIndex, texts, generatorAddress, run, 0);
    }
  }

  /**
   * The generator (run {@code run}) has finished; the answer has {@code totalChunks} chunks.
   * {@code finishReason} is the provider's ({@code stop}, {@code length}, …) when it gave one.
   */
  record GenerationEnded(String messageId, int totalChunks, AnswerStatus status, AnswerError errorCode,
                         String errorMessage, String finishReason, long run)
      implements SessionCommand {
  }
}
