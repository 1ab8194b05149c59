-- Conversations and their finished messages. A message's JSON is the history's MESSAGE object.
CREATE TABLE conversations (
  session_id    text PRIMARY KEY,
  user_id       text,
  title         text NOT NULL DEFAULT '',
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  message_count integer NOT NULL DEFAULT 0,
  streaming     boolean NOT NULL DEFAULT false
);
CREATE INDEX conversations_by_user ON conversations (user_id, updated_at DESC, session_id);

CREATE TABLE messages (
  message_id text PRIMARY KEY,
  session_id text NOT NULL REFERENCES conversations (session_id) ON DELETE CASCADE,
  position   bigserial NOT NULL,
  message    text NOT NULL
);
CREATE INDEX messages_by_session ON messages (session_id, position);
