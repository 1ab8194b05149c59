package io.streamchat.ai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.streamchat.protocol.AnswerError;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads the data of an OpenAI-compatible streaming chat completion, one SSE event at a time:
 * {@code choices[0].delta.content} is a token, {@code finish_reason} or {@code [DONE]} ends the
 * answer, an {@code error} object fails it. Malformed events are counted and skipped. Events are
 * read as a token stream, field by field, without building a JSON tree: this runs once per token.
 */
final class CompletionChunks {

  /** Token usage the provider reported. */
  record Usage(long promptTokens, long completionTokens) {
  }

  private static final JsonFactory JSON = new JsonFactory();
  private static final byte[] DONE = "[DONE]".getBytes(StandardCharsets.US_ASCII);

  private final TokenSink sink;
  private boolean finished;
  private String finishReason;
  private int malformed;
  private Usage usage;

  /** What one event holds, as far as an answer is concerned. */
  private static final class Event {
    String content;
    String finishReason;
    boolean error;
    Usage usage;
  }

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
  Usage usage() {
    return usage;
  }

  /** One event's data, as a string (the bytes' path is the one streams take). */
  void onData(String data) {
    byte[] bytes = data.getBytes(StandardCharsets.UTF_8);
    onData(bytes, bytes.length);
  }

  /** One event's data: the first {@code length} bytes of {@code data}, read during the call only. */
  void onData(byte[] data, int length) {
    if (isDone(data, length)) {
      if (!finished) {
        finish();
      }
      return;
    }
    Event event = read(data, length);
    if (event == null) {
      malformed++;
      return;
    }
    if (event.usage != null) {
      usage = event.usage;
    }
    if (finished) {
      // After the finish, some servers send one more event with the usage alone.
      return;
    }
    if (event.error) {
      finished = true;
      sink.failed(AnswerError.PROVIDER_ERROR, "the AI provider reported an error: "
          + errorMessage(new String(data, 0, length, StandardCharsets.UTF_8)));
      return;
    }
    if (event.content != null && !event.content.isEmpty()) {
      sink.token(event.content);
    }
    if (event.finishReason != null) {
      finishReason = event.finishReason;
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
    sink.done(finishReason);
  }

  /** {@code [DONE]}, with blanks around it or not. */
  private static boolean isDone(byte[] data, int length) {
    int start = 0;
    int end = length;
    while (start < end && Character.isWhitespace(data[start])) {
      start++;
    }
    while (end > start && Character.isWhitespace(data[end - 1])) {
      end--;
    }
    return Arrays.equals(data, start, end, DONE, 0, DONE.length);
  }

  /** The event's fields that matter, or null when it is not a JSON object. */
  private static Event read(byte[] data, int length) {
    Event event = new Event();
    try (JsonParser parser = JSON.createParser(data, 0, length)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        JsonToken value = parser.nextToken();
        switch (field) {
          case "choices" -> readChoices(parser, value, event);
          case "error" -> {
            event.error = value == JsonToken.START_OBJECT;
            parser.skipChildren();
          }
          case "usage" -> {
            if (value == JsonToken.START_OBJECT) {
              event.usage = readUsage(parser);
            } else {
              parser.skipChildren();
            }
          }
          default -> parser.skipChildren();
        }
      }
      return event;
    } catch (IOException e) {
      return null;
    }
  }

  /** {@code choices[0]}: its {@code delta.content} and its {@code finish_reason}, if any. */
  private static void readChoices(JsonParser parser, JsonToken value, Event event) throws IOException {
    if (value != JsonToken.START_ARRAY) {
      parser.skipChildren();
      return;
    }
    JsonToken first = parser.nextToken();
    if (first == JsonToken.END_ARRAY) {
      return;
    }
    if (first == JsonToken.START_OBJECT) {
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        JsonToken token = parser.nextToken();
        if ("delta".equals(field) && token == JsonToken.START_OBJECT) {
          while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String deltaField = parser.currentName();
            JsonToken deltaValue = parser.nextToken();
            if ("content".equals(deltaField) && deltaValue == JsonToken.VALUE_STRING) {
              event.content = parser.getText();
            } else {
              parser.skipChildren();
            }
          }
        } else if ("finish_reason".equals(field)) {
          event.finishReason = token == JsonToken.VALUE_STRING ? parser.getText() : null;
        } else {
          parser.skipChildren();
        }
      }
    } else {
      parser.skipChildren();
    }
    while (parser.nextToken() != JsonToken.END_ARRAY) {
      parser.skipChildren();
    }
  }

  private static Usage readUsage(JsonParser parser) throws IOException {
    long prompt = 0;
    long completion = 0;
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String field = parser.currentName();
      JsonToken value = parser.nextToken();
      if (value == JsonToken.VALUE_NUMBER_INT && "prompt_tokens".equals(field)) {
        prompt = parser.getLongValue();
      } else if (value == JsonToken.VALUE_NUMBER_INT && "completion_tokens".equals(field)) {
        completion = parser.getLongValue();
      } else {
        parser.skipChildren();
      }
    }
    return new Usage(prompt, completion);
  }

  /** The rare path: the provider's error, as it said it. */
  private static String errorMessage(String data) {
    try {
      JsonObject error = new JsonObject(data).getJsonObject("error");
      return error.getString("message", error.encode());
    } catch (DecodeException | ClassCastException e) {
      return data;
    }
  }
}
