package io.streamchat.testkit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict reader of the Prometheus text exposition format (0.0.4): every line is a {@code # HELP},
 * a {@code # TYPE} or a sample of a family whose type was declared first; label values are quoted
 * and escaped; a histogram's buckets grow with {@code le} and end at {@code +Inf}.
 */
public final class PrometheusText {

  public record Sample(String name, Map<String, String> labels, double value) {
  }

  private static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\\\n]|\\\\[\\\\\"n])*)\"");
  private static final List<String> TYPES = List.of("counter", "gauge", "histogram", "summary", "untyped");

  public final Map<String, String> types;
  public final List<Sample> samples;

  private PrometheusText(Map<String, String> types, List<Sample> samples) {
    this.types = types;
    this.samples = samples;
  }

  /** Parses a scrape; a line that breaks the format throws, naming the line. */
  public static PrometheusText parse(String text) {
    Map<String, String> types = new LinkedHashMap<>();
    List<Sample> samples = new ArrayList<>();
    int number = 0;
    for (String line : text.split("\n", -1)) {
      number++;
      if (line.isEmpty()) {
        continue;
      }
      try {
        if (line.startsWith("# TYPE ")) {
          String[] parts = line.split(" ");
          require(parts.length == 4 && METRIC_NAME.matcher(parts[2]).matches() && TYPES.contains(parts[3]), "bad TYPE");
          require(types.put(parts[2], parts[3]) == null, "a second TYPE for " + parts[2]);
        } else if (line.startsWith("#")) {
          continue;
        } else {
          samples.add(sample(line, types));
        }
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("line " + number + " (" + line + "): " + e.getMessage(), e);
      }
    }
    checkHistograms(types, samples);
    return new PrometheusText(types, samples);
  }

  /** The sum of every series of a family's samples named {@code name}; 0 when there is none. */
  public double sum(String name) {
    return sum(name, Map.of());
  }

  /** The sum of the series named {@code name} whose labels include all of {@code labels}. */
  public double sum(String name, Map<String, String> labels) {
    return samples.stream().filter(s -> s.name.equals(name) && s.labels.entrySet().containsAll(labels.entrySet()))
        .mapToDouble(Sample::value).sum();
  }

  private static Sample sample(String line, Map<String, String> types) {
    int brace = line.indexOf('{');
    int space = line.lastIndexOf(' ');
    require(space > 0, "no value");
    String name = brace >= 0 ? line.substring(0, brace) : line.substring(0, space);
    require(METRIC_NAME.matcher(name).matches(), "bad name");
    require(family(name, types) != null, "a sample before its TYPE");
    Map<String, String> labels = new HashMap<>();
    if (brace >= 0) {
      int close = line.lastIndexOf('}');
      require(close > brace && close < space, "unclosed labels");
      String body = line.substring(brace + 1, close);
      Matcher matcher = LABEL.matcher(body);
      int at = 0;
      while (at < body.length()) {
        require(matcher.find(at) && matcher.start() == at, "bad label at " + at);
        require(labels.put(matcher.group(1), matcher.group(2)) == null, "label twice: " + matcher.group(1));
        at = matcher.end();
        if (at < body.length()) {
          require(body.charAt(at) == ',', "labels not separated by commas");
          at++;
        }
      }
    }
    String value = line.substring(space + 1);
    double parsed = switch (value) {
      case "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      case "NaN" -> Double.NaN;
      default -> Double.parseDouble(value);
    };
    return new Sample(name, Map.copyOf(labels), parsed);
  }

  /** The family a sample belongs to: its own name, or a histogram's or summary's with a suffix taken off. */
  private static String family(String name, Map<String, String> types) {
    if (types.containsKey(name)) {
      return name;
    }
    for (String suffix : List.of("_bucket", "_count", "_sum")) {
      if (name.endsWith(suffix)) {
        String base = name.substring(0, name.length() - suffix.length());
        String type = types.get(base);
        if ("histogram".equals(type) || "summary".equals(type)) {
          return base;
        }
      }
    }
    return null;
  }

  private static void checkHistograms(Map<String, String> types, List<Sample> samples) {
    Map<Map<String, String>, List<Sample>> buckets = new HashMap<>();
    for (Sample sample : samples) {
      if (sample.name.endsWith("_bucket") && "histogram".equals(types.get(family(sample.name, types)))) {
        require(sample.labels.containsKey("le"), sample.name + " without le");
        Map<String, String> series = new HashMap<>(sample.labels);
        series.remove("le");
        series.put("__name__", sample.name);
        buckets.computeIfAbsent(series, k -> new ArrayList<>()).add(sample);
      }
    }
    buckets.forEach((series, list) -> {
      double previousBound = Double.NEGATIVE_INFINITY;
      double previousCount = 0;
      for (Sample bucket : list) {
        String le = bucket.labels.get("le");
        double bound = le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le);
        require(bound > previousBound, series + ": buckets out of order");
        require(bucket.value >= previousCount, series + ": a bucket counts less than the one below it");
        previousBound = bound;
        previousCount = bucket.value;
      }
      require(previousBound == Double.POSITIVE_INFINITY, series + ": no +Inf bucket");
    });
  }

  private static void require(boolean condition, String problem) {
    if (!condition) {
      throw new IllegalArgumentException(problem);
    }
  }
}
