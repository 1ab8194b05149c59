package io.streamchat.testkit;

import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A Server-Sent Events client for tests, as a browser's EventSource reads a stream: events with their
 * {@code id}, {@code event} and {@code data}; it can be dropped mid-stream and opened again with the
 * last id seen as {@code Last-Event-ID}.
 */
public final class EventStream implements AutoCloseable {

  /** One event; {@code id} null when the server sent none. */
  public record Event(String id, String type, JsonObject data) {
  }

  private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
  private final InputStream body;
  private final Thread reader;
  private volatile boolean ended;
  private volatile String lastEventId;

  private EventStream(InputStream body, String lastEventId) {
    this.body = body;
    this.lastEventId = lastEventId;
    this.reader = new Thread(this::read, "event-stream-reader");
    reader.setDaemon(true);
    reader.start();
  }

  /**
   * Opens {@code /api/chat/events?<query>}; {@code lastEventId} is sent as {@code Last-Event-ID} when
   * set. Fails with the HTTP status and body when the server refuses.
   */
  public static EventStream open(int port, String query, String lastEventId) throws IOException, InterruptedException {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/chat/events?"
        + query)).header("accept", "text/event-stream").GET();
    if (lastEventId != null) {
      request.header("Last-Event-ID", lastEventId);
    }
    HttpResponse<InputStream> response = HttpClient.newHttpClient().send(request.build(),
        HttpResponse.BodyHandlers.ofInputStream());
    if (response.statusCode() != 200) {
      String body = new String(response.body().readAllBytes(), StandardCharsets.UTF_8);
      throw new IllegalStateException("HTTP " + response.statusCode() + " " + body);
    }
    if (!response.headers().firstValue("content-type").orElse("").startsWith("text/event-stream")) {
      throw new IllegalStateException("not an event stream: " + response.headers());
    }
    return new EventStream(response.body(), lastEventId);
  }

  private void read() {
    try (BufferedReader lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
      String id = null;
      String type = "message";
      StringBuilder data = new StringBuilder();
      String line;
      while ((line = lines.readLine()) != null) {
        if (line.isEmpty()) {
          if (data.length() > 0) {
            if (id != null) {
              lastEventId = id;
            }
            events.add(new Event(id, type, new JsonObject(data.toString())));
          }
          id = null;
          type = "message";
          data.setLength(0);
        } else if (line.startsWith("id:")) {
          id = line.substring(3).strip();
        } else if (line.startsWith("event:")) {
          type = line.substring(6).strip();
        } else if (line.startsWith("data:")) {
          data.append(line.substring(5).strip());
        }
      }
    } catch (IOException e) {
      // dropped
    } finally {
      ended = true;
    }
  }

  /** The id of the last event that had one: what a browser sends as {@code Last-Event-ID}. */
  public String lastEventId() {
    return lastEventId;
  }

  public Event next(Duration timeout) throws InterruptedException {
    Event event = events.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    if (event == null) {
      throw new AssertionError("no event within " + timeout + (ended ? " (the stream ended)" : ""));
    }
    return event;
  }

  public Event until(Predicate<Event> match, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Event event = next(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      if (match.test(event)) {
        return event;
      }
    }
  }

  public boolean ended() {
    return ended && events.isEmpty();
  }

  /** Drops the stream, as a lost network does. */
  @Override
  public void close() {
    try {
      body.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }
}
