package io.streamchat.ai;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Reads the data of an OpenAI-compatible streaming chat completion, one SSE event at a time:
 * {@code choices[0].delta.content} is a token, {@code finish_reason} or {@code [DONE]} ends the
 * answer, an {@code error} object fails it. Malformed events are counted and skipped.
 */
final class CompletionChunks {

  private final TokenSink sink;
  private boolean finished;
  private int malformed;

  CompletionChunks(TokenSink sink) {
    this.sink = sink;
  }

  boolean finished() {
    return finished;
  }

  int malformed() {
    return malformed;
  }

  void onData(String data) {
    if (finished) {
      return;
    }
    if ("[DONE]".equals(data.strip())) {
      finish();
      return;
    }
    JsonObject json;
    try {
      json = new JsonObject(data);
    } catch (DecodeException | ClassCastException e) {
      malformed++;
      return;
    }
    JsonObject error = json.getValue("error") instanceof JsonObject e ? e : null;
    if (error != null) {
      finished = true;
      sink.failed("provider_error", "the AI provider reported an error: " + error.getString("message", error.encode()));
      return;
    }
    JsonArray choices = json.getValue("choices") instanceof JsonArray c ? c : null;
    if (choices == null || choices.isEmpty() || !(choices.getValue(0) instanceof JsonObject choice)) {
      return;
    }
    if (choice.getValue("delta") instanceof JsonObject delta && delta.getValue("content") instanceof String content
        && !content.isEmpty()) {
      sink.token(content);
    }
    if (choice.getValue("finish_reason") instanceof String) {
      finish();
    }
  }

  /** The response body ended: without a finish marker the answer still counts as complete. */
  void onEnd() {
    if (!finished) {
      finish();
    }
  }

  private void finish() {
    finished = true;
    sink.done();
  }
}
