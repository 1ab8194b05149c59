package io.streamchat.protocol;

import java.util.List;

/**
 * Requests to the durable tier (PostgreSQL), sent to {@link Addresses#DURABLE}: conversations and
 * their finished messages, kept until the user deletes them.
 */
public sealed interface DurableCommand {

  /**
   * One change to a conversation, written behind its owner: a finished message (by id, so that a
   * repeat changes nothing), or, with {@code messageId} null, only whether an answer streams.
   * {@code title} is set with a user message: the conversation takes it if it has none yet.
   */
  record Write(String sessionId, String userId, String messageId, String messageJson, String title,
               boolean streaming, long atMs) {

    /** The title of a conversation whose first question has no visible character. */
    public static final String UNTITLED = "New chat";

    /**
     * A conversation's title from its first question: the first line, at most 80 characters, or
     * {@link #UNTITLED} when the question shows nothing (only spaces and line breaks): a title is
     * never empty, as a rename's is not. A U+0000 in it becomes U+FFFD: PostgreSQL's text cannot
     * hold it (the message itself is stored as JSON, where it is escaped).
     */
    public static String titleOf(String content) {
      String line = content.strip().lines().findFirst().orElse("").strip();
      return line.isEmpty() ? UNTITLED : Characters.first(line, 80).replace('\u0000', '\uFFFD');
    }
  }

  /** Writes in order; replied with {@link Saved} once all are durable. */
  record Save(List<Write> writes) implements DurableCommand {
  }

  record Saved(int count) {
  }

  /** A conversation as stored, for a session the fast tier no longer holds: replied {@link StoredConversation}. */
  record Load(String sessionId) implements DurableCommand {
  }

  /** {@code found} false: no such conversation. {@code messages} are the history's message JSON, oldest first. */
  record StoredConversation(boolean found, String userId, List<String> messages) {
  }

  /** The user's conversations, most recently updated first, updated before {@code beforeMs} (0: any). */
  record ListConversations(String userId, int limit, long beforeMs) implements DurableCommand {
  }

  record Conversations(List<ConversationEntry> entries) {
  }

  record ConversationEntry(String sessionId, String userId, String title, long createdAtMs, long updatedAtMs,
                           int messageCount, boolean streaming) {
  }

  /** Renames a conversation: replied with its {@link ConversationEntry}, or fails {@code not_found}. */
  record Rename(String sessionId, String title) implements DurableCommand {
  }

  /** Forgets a conversation and its messages: replied {@link Deleted}. */
  record Delete(String sessionId) implements DurableCommand {
  }

  record Deleted(boolean found) {
  }

  /** Whether PostgreSQL answers: replied {@code true}, or failed {@code unavailable}. */
  record Ping() implements DurableCommand {
  }
}
