// The contract's example payload (CONTRACT.md).
import type { EndConversationPayload } from "../../src/ingest/schemas.js";

export const contractExample: EndConversationPayload = {
  conversation_id: "conv_abc123xyz",
  profile_id: "user_123",
  bot_type: "TALK",
  bot_id: "talk_movie_preference",
  bot_name: "Movie Preference Talk",
  start_time: "2025-11-25T18:00:00Z",
  end_time: "2025-11-25T18:20:00Z",
  conversation_log: [
    { role: "agent", content: "Hi! Seen any good movies lately?", timestamp: "2025-11-25T18:00:02Z" },
    { role: "user", content: "Yes, Dune. Have you seen it?", timestamp: "2025-11-25T18:00:09Z" },
  ],
  metadata: {},
};
