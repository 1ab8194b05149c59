package io.streamchat.ai;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Writes the demo provider's answers: a few paragraphs of markdown about the question, split into tokens. */
final class DemoAnswers {

  private static final Pattern TOKEN = Pattern.compile("\\s*\\S+|\\s+");

  private DemoAnswers() {
  }

  static List<String> answer(String question, int maxTokens) {
    String topic = question == null ? "" : question.strip().replaceAll("\\s+", " ");
    if (topic.length() > 80) {
      topic = topic.substring(0, 77) + "...";
    }
    String text = """
        Thanks for asking about **%s**. Here is how I would think about it.

        1. **Start from what you know.** Write down the facts you are sure of, and the ones you are only \
        assuming. Most confusion hides in the second list.
        2. **Make it small.** Pick the smallest version of the problem that is still interesting, and solve \
        that one first.
        3. **Check the result.** A quick test, a measurement or a second opinion tells you more than another \
        hour of thinking.

        > This answer comes from the built-in demo provider. Point `CHAT_AI_PROVIDER` at `openai` and set \
        `CHAT_AI_BASE_URL` to talk to a real model.

        In short: be concrete, go step by step, and measure. Ask me a follow-up if you want more detail.""".formatted(topic);
    List<String> tokens = new ArrayList<>();
    Matcher matcher = TOKEN.matcher(text);
    while (matcher.find() && (maxTokens <= 0 || tokens.size() < maxTokens)) {
      tokens.add(matcher.group());
    }
    return tokens;
  }

  /**
   * How many of {@code tokens} an answer's text so far already holds: the longest run of leading
   * tokens whose text is a prefix of it (a continuation goes on from there).
   */
  static int tokensIn(List<String> tokens, String prefix) {
    if (prefix == null || prefix.isEmpty()) {
      return 0;
    }
    int count = 0;
    int at = 0;
    for (String token : tokens) {
      if (!prefix.startsWith(token, at)) {
        break;
      }
      at += token.length();
      count++;
    }
    return count;
  }
}
