package io.streamchat.protocol;

import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.Properties;

/**
 * Reads a setting by its documented name: first the verticle's JSON config, then a {@code -D}
 * system property, then the environment, then the documented default.
 */
public final class ConfigSource {

  private final JsonObject json;
  private final Properties properties;
  private final Map<String, String> environment;

  public ConfigSource(JsonObject json, Properties properties, Map<String, String> environment) {
    this.json = json == null ? new JsonObject() : json;
    this.properties = properties;
    this.environment = environment;
  }

  public static ConfigSource of(JsonObject json) {
    return new ConfigSource(json, System.getProperties(), System.getenv());
  }

  public String string(String name, String defaultValue) {
    Object value = json.getValue(name);
    if (value != null) {
      return value.toString();
    }
    String property = properties.getProperty(name);
    if (property != null && !property.isBlank()) {
      return property;
    }
    String env = environment.get(name);
    if (env != null && !env.isBlank()) {
      return env;
    }
    return defaultValue;
  }

  public int integer(String name, int defaultValue) {
    return (int) number(name, defaultValue);
  }

  public long number(String name, long defaultValue) {
    String value = string(name, null);
    if (value == null) {
      return defaultValue;
    }
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be an integer, got '" + value + "'", e);
    }
  }

  public boolean bool(String name, boolean defaultValue) {
    String value = string(name, null);
    return value == null ? defaultValue : Boolean.parseBoolean(value.trim());
  }

  /**
   * Every setting whose name starts with {@code prefix}, by the rest of its name (JSON config over
   * {@code -D} properties over the environment, as for single settings).
   */
  public Map<String, String> withPrefix(String prefix) {
    Map<String, String> found = new java.util.TreeMap<>();
    environment.forEach((name, value) -> {
      if (name.startsWith(prefix) && value != null && !value.isBlank()) {
        found.put(name.substring(prefix.length()), value);
      }
    });
    properties.stringPropertyNames().stream().filter(name -> name.startsWith(prefix))
        .forEach(name -> found.put(name.substring(prefix.length()), properties.getProperty(name)));
    json.fieldNames().stream().filter(name -> name.startsWith(prefix) && json.getValue(name) != null)
        .forEach(name -> found.put(name.substring(prefix.length()), json.getValue(name).toString()));
    return found;
  }

  /** The settings as a JSON object to hand to verticles; every key this source was given explicitly. */
  public JsonObject json() {
    return json.copy();
  }
}
