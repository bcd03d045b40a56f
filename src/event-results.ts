// An event's results as Parley shows them outside the database (a conversation and a user's
// events in the HTTP API, the body of a webhook delivery): one zod shape for all three.
import { z } from "zod";
import { FRIENDSHIP_LEVELS } from "./domain.js";

/** The results' fields, for shapes that hold them at their top level. */
export const eventResultsFields = {
  friendship_score_change: z.number().nullable(),
  new_friendship_level: z.enum(FRIENDSHIP_LEVELS).nullable(),
  total_turns: z.number().int().nullable(),
  user_initiated_questions: z.number().int().nullable(),
  topic_metrics: z.unknown(),
  session_emotion: z.unknown(),
};

export const eventResultsSchema = z.object(eventResultsFields);
