package io.streamchat.server;

import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;
import io.streamchat.protocol.JsonText;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.slf4j.event.KeyValuePair;

/**
 * The node's log lines, as CHAT_LOG_FORMAT says: {@code text} by {@link #setPattern pattern}, or
 * {@code json}, one object per line for log collectors: {@code time}, {@code level}, {@code node},
 * {@code logger}, {@code thread}, {@code message}, the event's key-value pairs ({@code session_id}
 * on every line about a session), and {@code error} with the stack trace.
 */
public final class LogEncoder extends EncoderBase<ILoggingEvent> {

  /** The logger context's property that names the node; set by the node when it knows its id. */
  public static final String NODE_PROPERTY = "chat.node";

  private static final byte[] NOTHING = new byte[0];

  private String format = "text";
  private String pattern;
  private PatternLayout textLayout;

  public void setFormat(String format) {
    this.format = format;
  }

  public void setPattern(String pattern) {
    this.pattern = pattern;
  }

  @Override
  public void start() {
    if (!format.equals("json")) {
      textLayout = new PatternLayout();
      textLayout.setContext(getContext());
      textLayout.setPattern(pattern);
      textLayout.start();
    }
    super.start();
  }

  @Override
  public byte[] headerBytes() {
    return NOTHING;
  }

  @Override
  public byte[] encode(ILoggingEvent event) {
    if (textLayout != null) {
      return textLayout.doLayout(event).getBytes(StandardCharsets.UTF_8);
    }
    StringBuilder line = new StringBuilder(256);
    line.append("{\"time\":\"").append(Instant.ofEpochMilli(event.getTimeStamp())).append("\",\"level\":\"")
        .append(event.getLevel()).append('"');
    String node = getContext() == null ? null : getContext().getProperty(NODE_PROPERTY);
    if (node != null) {
      JsonText.quote(line.append(",\"node\":"), node);
    }
    JsonText.quote(line.append(",\"logger\":"), event.getLoggerName());
    JsonText.quote(line.append(",\"thread\":"), event.getThreadName());
    JsonText.quote(line.append(",\"message\":"), event.getFormattedMessage());
    if (event.getKeyValuePairs() != null) {
      for (KeyValuePair pair : event.getKeyValuePairs()) {
        JsonText.quote(line.append(','), pair.key).append(':');
        JsonText.quote(line, String.valueOf(pair.value));
      }
    }
    IThrowableProxy thrown = event.getThrowableProxy();
    if (thrown != null) {
      JsonText.quote(line.append(",\"error\":"), ThrowableProxyUtil.asString(thrown));
    }
    return line.append("}\n").toString().getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public byte[] footerBytes() {
    return NOTHING;
  }
}
