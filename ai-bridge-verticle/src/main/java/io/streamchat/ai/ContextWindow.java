package io.streamchat.ai;

import io.streamchat.protocol.AiCommand.ContextMessage;
import java.util.List;

/** Fits a conversation into a budget of characters: the newest messages stay, the oldest go first. */
final class ContextWindow {

  private ContextWindow() {
  }

  /**
   * The longest suffix of {@code messages} whose contents fit in {@code budgetChars}. The last
   * message (the question) is always kept; if it alone is larger than the budget, its end is kept.
   */
  static List<ContextMessage> fit(List<ContextMessage> messages, int budgetChars) {
    if (messages.isEmpty()) {
      return messages;
    }
    int used = 0;
    int first = messages.size();
    while (first > 0 && used + messages.get(first - 1).content().length() <= budgetChars) {
      first--;
      used += messages.get(first).content().length();
    }
    if (first == messages.size()) {
      ContextMessage question = messages.get(messages.size() - 1);
      String content = question.content();
      return List.of(new ContextMessage(question.role(), content.substring(Math.max(0, content.length() - budgetChars))));
    }
    return messages.subList(first, messages.size());
  }
}
