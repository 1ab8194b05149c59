package io.streamchat.ai;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Arrays;
import java.util.Locale;

/**
 * How an OpenAI-compatible provider is asked to go on with an answer that stopped: the request
 * carries the answer's text so far, and the model should continue it mid-sentence. Servers
 * differ in what they honour.
 */
enum Continuation {
  /**
   * The text so far as a final assistant message, nothing else. llama.cpp's server and Ollama
   * continue such a message; OpenAI and most hosted APIs take it as context and answer anew.
   */
  PREFILL,
  /** A final assistant message with {@code continue_final_message: true, add_generation_prompt: false} (vLLM). */
  VLLM,
  /** A final assistant message marked {@code "prefix": true} (Mistral, DeepSeek's beta API). */
  PREFIX,
  /**
   * The text so far as an assistant message, then a user message asking to go on from its last
   * word without repeating it: for providers that cannot continue a message (OpenAI). The join
   * may not be seamless.
   */
  INSTRUCTION;

  static final String INSTRUCTION_TEXT =
      "Continue your last answer exactly where it stopped, mid-sentence if needed. Do not repeat any of it.";

  /**
   * The method named by CHAT_AI_CONTINUATION; {@code auto} is {@link #INSTRUCTION} for OpenAI's own
   * API (which would answer a prefilled message anew) and {@link #PREFILL} for every other server.
   */
  static Continuation fromSetting(String value, String baseUrl) {
    if ("auto".equalsIgnoreCase(value.strip())) {
      return baseUrl.contains("://api.openai.com") ? INSTRUCTION : PREFILL;
    }
    try {
      return valueOf(value.strip().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("CHAT_AI_CONTINUATION must be auto or one of "
          + Arrays.toString(values()).toLowerCase(Locale.ROOT) + ", got " + value);
    }
  }

  /** Adds the answer's text so far to a chat completions request whose messages end with the question. */
  void apply(JsonObject body, String prefix) {
    JsonArray messages = body.getJsonArray("messages");
    JsonObject assistant = new JsonObject().put("role", "assistant").put("content", prefix);
    messages.add(assistant);
    switch (this) {
      case VLLM -> body.put("continue_final_message", true).put("add_generation_prompt", false);
      case PREFIX -> assistant.put("prefix", true);
      case INSTRUCTION -> messages.add(new JsonObject().put("role", "user").put("content", INSTRUCTION_TEXT));
      case PREFILL -> {
      }
    }
  }
}
