package io.streamchat.session;

import io.streamchat.protocol.AnswerError;
import io.streamchat.protocol.AnswerStatus;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The assistant message streaming now: its chunks so far, with the seq of each; its text is kept
 * once, as chunks. It may be produced by several runs of a generator in turn: when one is lost,
 * the next goes on from the last chunk.
 */
final class Answer {

  /** The run of a restored answer whose generator has not spoken to this owner yet: the first to speak is adopted. */
  static final long UNKNOWN_RUN = 0;

  final String messageId;
  final String replyTo;
  final String createdAt;
  /** The answer this one goes on from, or null. */
  final String continues;
  /** The client_message_id of the {@code regenerate} that asked for this answer, or null. */
  final String clientMessageId;
  /** The text of the answers this one continues, oldest first: what a provider continues from, before this answer's own text. */
  final String prefix;
  private long chars;
  private final List<String> chunks = new ArrayList<>();
  private long[] chunkSeqs = new long[32];
  String generatorAddress;
  long run;
  long lastProgressMs;
  /** Runs started because the one before was lost. */
  int continuations;
  /** When the question was taken (for the time to the first token); 0 for an answer restored after an owner change. */
  long askedMs;
  /** Restored after an owner change, and no generator has made progress with this owner yet. */
  boolean awaitingGenerator;

  Answer(String messageId, String replyTo, String createdAt, String continues, String clientMessageId, String prefix,
         long run, long nowMs) {
    this.messageId = messageId;
    this.replyTo = replyTo;
    this.createdAt = createdAt;
    this.continues = continues;
    this.clientMessageId = clientMessageId;
    this.prefix = prefix;
    this.run = run;
    this.lastProgressMs = nowMs;
  }

  /**
   * Whether a generator run may feed the answer: the current one, or, for an answer restored
   * after the owner changed, the first run that speaks (the generator that outlived the old owner).
   */
  boolean adopt(long candidate) {
    if (run == UNKNOWN_RUN) {
      run = candidate;
    }
    return run == candidate;
  }

  boolean isRun(String otherMessageId, long otherRun) {
    return messageId.equals(otherMessageId) && run == otherRun;
  }

  int chunkCount() {
    return chunks.size();
  }

  String content() {
    StringBuilder content = new StringBuilder((int) Math.min(Integer.MAX_VALUE - 8, chars));
    chunks.forEach(content::append);
    return content.toString();
  }

  /** Characters of all chunks so far. */
  long chars() {
    return chars;
  }

  String chunk(int index) {
    return chunks.get(index);
  }

  long chunkSeq(int index) {
    return chunkSeqs[index];
  }

  void addChunk(String text, long seq) {
    if (chunks.size() == chunkSeqs.length) {
      chunkSeqs = Arrays.copyOf(chunkSeqs, chunkSeqs.length * 2);
    }
    chunkSeqs[chunks.size()] = seq;
    chunks.add(text);
    chars += text.length();
  }

  MessageView view(AnswerStatus status, AnswerError errorCode, String errorMessage, String finishReason) {
    return new MessageView(messageId, MessageView.ASSISTANT, content(), status, createdAt, replyTo, clientMessageId,
        chunkCount(), errorCode == null ? null : errorCode.wire(), errorMessage, continues, finishReason);
  }

  MessageView streamingView() {
    return view(AnswerStatus.STREAMING, null, null, null);
  }
}
