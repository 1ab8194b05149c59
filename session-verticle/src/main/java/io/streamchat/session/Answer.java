package io.streamchat.session;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The assistant message streaming now: its chunks so far, with the seq of each. */
final class Answer {

  final String messageId;
  final String replyTo;
  final String createdAt;
  private final StringBuilder content = new StringBuilder();
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
    return content.toString();
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
    content.append(text);
  }

  MessageView view(String status, String errorCode, String errorMessage) {
    return new MessageView(messageId, MessageView.ASSISTANT, content(), status, createdAt, replyTo, null,
        chunkCount(), errorCode, errorMessage);
  }
}
