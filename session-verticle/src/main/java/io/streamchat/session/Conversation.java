package io.streamchat.session;

import io.streamchat.protocol.AiCommand.ContextMessage;
import io.streamchat.protocol.SessionReply.MessageAccepted;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The finished messages of one session, newest last, at most {@code maxMessages}; what a provider
 * is given as context; and the outcomes of recent requests, so that a request repeated (a retry
 * after a timeout, a client sending its id again) is carried out once. Single-threaded.
 */
final class Conversation {

  /** Requests remembered by request id, and regenerations by client id. */
  private static final int RECENT_REQUESTS = 64;

  private final String sessionId;
  private final int maxMessages;
  private final Map<String, MessageView> messages = new LinkedHashMap<>();
  /** User messages (and their newest answers) by client_message_id, for as long as the message is held. */
  private final Map<String, MessageAccepted> byClientMessageId = new HashMap<>();
  private final Map<String, MessageAccepted> byRequestId = recent();
  /** Regenerations by client_message_id (also kept on the answer itself, so it survives an owner change). */
  private final Map<String, MessageAccepted> regeneratedBy = recent();

  Conversation(String sessionId, int maxMessages) {
    this.sessionId = sessionId;
    this.maxMessages = maxMessages;
  }

  MessageView get(String messageId) {
    return messageId == null ? null : messages.get(messageId);
  }

  MessageView remove(String messageId) {
    return messages.remove(messageId);
  }

  Collection<MessageView> messages() {
    return messages.values();
  }

  /** Adds a message, or replaces it (an answer that ended); the oldest go beyond the limit. */
  void remember(MessageView message) {
    messages.remove(message.messageId());
    messages.put(message.messageId(), message);
    if (message.clientMessageId() != null && message.isAssistant()) {
      regeneratedBy.put(message.clientMessageId(), new MessageAccepted(sessionId, message.replyTo(), message.messageId()));
    } else if (message.clientMessageId() != null) {
      byClientMessageId.putIfAbsent(message.clientMessageId(), new MessageAccepted(sessionId, message.messageId(), null));
    }
    if (message.isAssistant() && message.replyTo() != null) {
      MessageView question = messages.get(message.replyTo());
      String repeatable = question == null ? null : question.clientMessageId();
      MessageAccepted known = repeatable == null ? null : byClientMessageId.get(repeatable);
      // A repeat of the question gets its original answer, not a regeneration or continuation of it.
      if (repeatable != null && (known == null || known.replyMessageId() == null)) {
        byClientMessageId.put(repeatable, new MessageAccepted(sessionId, question.messageId(), message.messageId()));
      }
    }
    Iterator<MessageView> oldest = messages.values().iterator();
    while (messages.size() > maxMessages && oldest.hasNext()) {
      MessageView dropped = oldest.next();
      oldest.remove();
      if (dropped.clientMessageId() != null && !dropped.isAssistant()) {
        byClientMessageId.remove(dropped.clientMessageId());
      }
    }
  }

  // ---- requests carried out once ----

  /** The outcome of a message seen before, by request id or client_message_id; or null. */
  MessageAccepted repeatedMessage(String requestId, String clientMessageId) {
    MessageAccepted repeated = repeatedRequest(requestId);
    return repeated != null || clientMessageId == null ? repeated : byClientMessageId.get(clientMessageId);
  }

  /** The outcome of a regeneration seen before, by request id or client_message_id; or null. */
  MessageAccepted repeatedRegeneration(String requestId, String clientMessageId) {
    MessageAccepted repeated = repeatedRequest(requestId);
    return repeated != null || clientMessageId == null ? repeated : regeneratedBy.get(clientMessageId);
  }

  MessageAccepted repeatedRequest(String requestId) {
    return requestId == null ? null : byRequestId.get(requestId);
  }

  void messageAccepted(MessageAccepted accepted, String requestId, String clientMessageId) {
    requestAccepted(accepted, requestId);
    if (clientMessageId != null) {
      byClientMessageId.put(clientMessageId, accepted);
    }
  }

  void regenerationAccepted(MessageAccepted accepted, String requestId, String clientMessageId) {
    requestAccepted(accepted, requestId);
    if (clientMessageId != null) {
      regeneratedBy.put(clientMessageId, accepted);
    }
  }

  void requestAccepted(MessageAccepted accepted, String requestId) {
    if (requestId != null) {
      byRequestId.put(requestId, accepted);
    }
  }

  // ---- reads ----

  /** The last user message, or null. */
  MessageView lastQuestion() {
    MessageView question = null;
    for (MessageView message : messages.values()) {
      if (!message.isAssistant()) {
        question = message;
      }
    }
    return question;
  }

  /** The id of the last assistant message, or null. */
  String latestAnswerId() {
    String latest = null;
    for (MessageView message : messages.values()) {
      if (message.isAssistant()) {
        latest = message.messageId();
      }
    }
    return latest;
  }

  boolean isAssistant(String messageId) {
    MessageView message = get(messageId);
    return message != null && message.isAssistant();
  }

  /**
   * The conversation as the provider sees it, up to a question: each user message, then the
   * newest answer to it with the answers it continues joined into one text; the question last;
   * at most {@code maxContextMessages}, the newest.
   */
  List<ContextMessage> context(String questionId, int maxContextMessages) {
    Map<String, MessageView> newestAnswer = new HashMap<>();
    List<MessageView> questions = new ArrayList<>();
    for (MessageView message : messages.values()) {
      if (!message.isAssistant()) {
        questions.add(message);
        if (message.messageId().equals(questionId)) {
          break;
        }
      } else if (message.replyTo() != null) {
        newestAnswer.put(message.replyTo(), message);
      }
    }
    List<ContextMessage> context = new ArrayList<>();
    for (MessageView question : questions) {
      context.add(new ContextMessage(question.role(), question.content()));
      MessageView reply = question.messageId().equals(questionId) ? null : newestAnswer.get(question.messageId());
      String text = reply == null ? "" : chainText(reply);
      if (!text.isEmpty()) {
        context.add(new ContextMessage(MessageView.ASSISTANT, text));
      }
    }
    return context.subList(Math.max(0, context.size() - maxContextMessages), context.size());
  }

  /** The newest answer that goes on from this one, continuation after continuation: where its text ends now. */
  MessageView chainEnd(MessageView answer) {
    MessageView end = answer;
    for (int hops = 0; hops < messages.size(); hops++) {
      MessageView next = null;
      for (MessageView message : messages.values()) {
        if (end.messageId().equals(message.continues())) {
          next = message;
        }
      }
      if (next == null) {
        break;
      }
      end = next;
    }
    return end;
  }

  /** An answer's text with the text of the answers it continues before it, oldest first. */
  String chainText(MessageView last) {
    List<String> parts = new ArrayList<>();
    for (MessageView message = last; message != null && parts.size() <= messages.size();
         message = message.continues() == null ? null : messages.get(message.continues())) {
      parts.add(message.content());
    }
    StringBuilder text = new StringBuilder();
    for (int i = parts.size() - 1; i >= 0; i--) {
      text.append(parts.get(i));
    }
    return text.toString();
  }

  private static <V> Map<String, V> recent() {
    return new LinkedHashMap<>() {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, V> eldest) {
        return size() > RECENT_REQUESTS;
      }
    };
  }
}
