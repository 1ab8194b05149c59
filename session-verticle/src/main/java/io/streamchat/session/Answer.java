package io.streamchat.session;

import io.streamchat.protocol.AnswerError;
import io.streamchat.protocol.AnswerStatus;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The assistant message streaming now: its chunks so far, with the seq of each; its text is kept once, as chunks. */
final class Answer {

  final String messageId;
  final String replyTo;
  final String createdAt;
  private long chars;
  private final List<String> chunks = new ArrayList<>();
  private long[] chunkSeqs = new long[32];
  String generatorAddress;
  long lastProgressMs;

  Answer(String messageId, String replyTo, String createdAt, long nowMs) {
    this.messageId = messageId;
    this.replyTo = replyTo;
    this.createdAt = createdAt;
    this.lastProgressMs = nowMs;
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

  MessageView view(AnswerStatus status, AnswerError errorCode, String errorMessage) {
    return new MessageView(messageId, MessageView.ASSISTANT, content(), status, createdAt, replyTo, null,
        chunkCount(), errorCode == null ? null : errorCode.wire(), errorMessage);
  }
}
