import { TOPICS } from "../pipeline/topics.js";
import type { Embedder } from "../embed/embedder.js";
import type { TopicPrototype } from "../domain.js";

/** Embeds the topic descriptions once per embedder; later calls share the result. */
export function topicPrototypes(embedder: Embedder): () => Promise<TopicPrototype[]> {
  let prototypes: Promise<TopicPrototype[]> | undefined;
  return () => {
    prototypes ??= embedder
      .embed(TOPICS.map((topic) => topic.description))
      .then((vectors) => TOPICS.map((topic, index) => ({ topic: topic.topic, vector: vectors[index]! })))
      .catch((error: unknown) => {
        prototypes = undefined;
        throw error;
      });
    return prototypes;
  };
}
