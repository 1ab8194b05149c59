package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** CHAT_LOG_FORMAT=json writes one object per line, with the session's id on every line about a session. */
class LogEncoderTest {

  private static List<ILoggingEvent> logged(LoggerContext context, java.util.function.Consumer<Logger> body) {
    Logger logger = context.getLogger("io.streamchat.example");
    ListAppender<ILoggingEvent> list = new ListAppender<>();
    list.setContext(context);
    list.start();
    logger.addAppender(list);
    body.accept(logger);
    return list.list;
  }

  private static LogEncoder encoder(LoggerContext context, String format) {
    LogEncoder encoder = new LogEncoder();
    encoder.setContext(context);
    encoder.setFormat(format);
    encoder.setPattern("%-5level %logger{0} - %msg%n");
    encoder.start();
    return encoder;
  }

  @Test
  void jsonLinesCarryTheNodeTheSessionAndTheStackTrace() {
    LoggerContext context = new LoggerContext();
    context.putProperty(LogEncoder.NODE_PROPERTY, "node-7");
    List<ILoggingEvent> events = logged(context, logger -> {
      logger.atWarn().addKeyValue("session_id", "s-1").log("Session {}: said \"{}\"", "s-1", "hi\nthere");
      logger.error("Failed", new IllegalStateException("boom"));
    });
    LogEncoder json = encoder(context, "json");

    String first = new String(json.encode(events.get(0)), StandardCharsets.UTF_8);
    assertThat(first).endsWith("}\n").doesNotContain("\n}").hasLineCount(1);
    JsonObject line = new JsonObject(first);
    assertThat(line.getString("level")).isEqualTo("WARN");
    assertThat(line.getString("node")).isEqualTo("node-7");
    assertThat(line.getString("logger")).isEqualTo("io.streamchat.example");
    assertThat(line.getString("message")).isEqualTo("Session s-1: said \"hi\nthere\"");
    assertThat(line.getString("session_id")).isEqualTo("s-1");
    assertThat(line.getString("time")).matches("\\d{4}-\\d\\d-\\d\\dT.*Z");

    JsonObject failure = new JsonObject(new String(json.encode(events.get(1)), StandardCharsets.UTF_8));
    assertThat(failure.getString("error")).contains("IllegalStateException: boom").contains("\tat ");
    assertThat(failure.containsKey("session_id")).isFalse();

    assertThat(new String(encoder(context, "text").encode(events.get(0)), StandardCharsets.UTF_8))
        .isEqualTo("WARN  example - Session s-1: said \"hi\nthere\"\n");
  }

  /** Every log line whose message names a session ("session {}") adds it as {@code session_id}. */
  @Test
  void everyLogLineAboutASessionCarriesItsId() throws IOException {
    Pattern call = Pattern.compile("LOG\\.(\\w+)\\((.*?)\\);", Pattern.DOTALL);
    List<String> missing = new ArrayList<>();
    Path root = Path.of("..").toAbsolutePath().normalize();
    try (Stream<Path> sources = Files.walk(root)) {
      for (Path source : sources.filter(p -> p.toString().endsWith(".java") && p.toString().contains("/src/main/"))
          .toList()) {
        String text = Files.readString(source);
        Matcher matcher = call.matcher(text);
        while (matcher.find()) {
          if (matcher.group(2).matches("(?s)\\s*\"[^\"]*[Ss]ession \\{}.*")) {
            missing.add(root.relativize(source) + ": " + matcher.group(0).lines().findFirst().orElse(""));
          }
        }
      }
    }
    assertThat(missing).as("log calls naming a session without .addKeyValue(\"session_id\", …)").isEmpty();
  }
}
