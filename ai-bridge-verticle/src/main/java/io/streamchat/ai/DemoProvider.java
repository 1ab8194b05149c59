package io.streamchat.ai;

import io.streamchat.protocol.AiCommand.ContextMessage;
import io.streamchat.protocol.AiCommand.Generate;
import io.vertx.core.Vertx;
import java.util.List;

/**
 * Answers without any network, at a steady pace; honours cancel at once. A continuation goes on
 * exactly where the earlier text stopped.
 */
final class DemoProvider implements Provider {

  private final Vertx vertx;
  private final AiSettings settings;

  DemoProvider(Vertx vertx, AiSettings settings) {
    this.vertx = vertx;
    this.settings = settings;
  }

  @Override
  public Generation start(Generate request, TokenSink sink) {
    List<ContextMessage> context = request.context();
    String question = context.isEmpty() ? "" : context.get(context.size() - 1).content();
    List<String> tokens = DemoAnswers.answer(question, settings.demoTokens());
    long interval = Math.max(1, 1000L / Math.max(1, settings.demoTokensPerSecond()));
    int[] next = {DemoAnswers.tokensIn(tokens, request.prefix())};
    long timer = vertx.setPeriodic(interval, interval, id -> {
      if (next[0] < tokens.size()) {
        sink.token(tokens.get(next[0]++));
      }
      if (next[0] == tokens.size()) {
        vertx.cancelTimer(id);
        sink.done("stop");
      }
    });
    return () -> vertx.cancelTimer(timer);
  }
}
