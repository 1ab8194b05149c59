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
  private JsonObject usage;

  CompletionChunks(TokenSink sink) {
    this.sink = sink;
  }

  boolean finished() {
    return finished;
  }

  int malformed() {
    return malformed;
  }

  /** The token usage the provider reported, if it did. */
  JsonObject usage() {
    return usage;
  }

  void onData(String data) {
    if (finished) {
      if (!"[DONE]".equals(data.strip())) {
        readUsage(data);
      }
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
    if (json.getValue("usage") instanceof JsonObject reported) {
      usage = reported;
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

  /** After the finish, some servers send one more event with the usage alone. */
  private void readUsage(String data) {
    try {
      if (new JsonObject(data).getValue("usage") instanceof JsonObject reported) {
        usage = reported;
      }
    } catch (DecodeException | ClassCastException e) {
      malformed++;
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
