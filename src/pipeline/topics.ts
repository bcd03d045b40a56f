// The topics Parley recognises in conversations, as data.

export interface Topic {
  /** Stable name, stored in `topic_metrics` and matched against the agent catalog's topics. */
  topic: string;
  /** Plain words people use about the topic; embedded to make the topic's prototype vector. */
  description: string;
}

/**
 * The topic list. Each description is embedded by whichever embedder runs (`PARLEY_EMBEDDER`) to
 * give that topic's prototype vector, and message vectors from the same embedder are compared with
 * those prototypes (see `detectTopics`). So the descriptions are keyword-rich and use the everyday
 * words people write in chat, not definitions: a bag-of-words embedder only sees shared words, and
 * a sentence embedder does best with the vocabulary of the messages it compares against.
 *
 * Changing a description moves its prototype; renaming a topic orphans the affinity users have for it.
 */
export const TOPICS: readonly Topic[] = [
  {
    topic: "movies",
    description:
      "movies films cinema actors actress watching a movie at the theater director scene trailer Netflix series show episode",
  },
  {
    topic: "music",
    description:
      "music songs singer band album concert listening to a song playlist guitar piano lyrics Spotify rap rock pop",
  },
  {
    topic: "sports",
    description:
      "sports football soccer basketball baseball tennis team match game score player coach playing a match gym running",
  },
  {
    topic: "food",
    description:
      "food cooking eating dinner lunch breakfast recipe restaurant pizza tasty delicious meal cook kitchen snack",
  },
  {
    topic: "travel",
    description:
      "travel trip vacation holiday flight hotel beach visiting a country city abroad journey airport tourist",
  },
  {
    topic: "books",
    description:
      "books reading a book novel author story chapter library read fiction fantasy writer poems",
  },
  {
    topic: "games",
    description:
      "games video games playing a game gamer console PlayStation Xbox Nintendo level puzzle board game Minecraft",
  },
  {
    topic: "technology",
    description:
      "technology computer phone app software internet coding programming AI robot gadget laptop smartphone",
  },
  {
    topic: "pets",
    description:
      "pets dog cat puppy kitten my pet walking the dog feeding the cat animal hamster fish vet",
  },
  {
    topic: "nature",
    description:
      "nature outdoors forest mountains hiking trees flowers river ocean weather sky camping garden animals",
  },
  {
    topic: "art",
    description:
      "art drawing painting artist sketch colors museum gallery design draw paint creative crafts",
  },
  {
    topic: "science",
    description:
      "science space planets stars experiment physics chemistry biology scientist research discovery how things work",
  },
  {
    topic: "family",
    description:
      "family mom dad parents brother sister kids children grandma grandpa home my family together cousin",
  },
  {
    topic: "work",
    description:
      "work job office boss coworkers meeting career project deadline working hard salary school homework",
  },
];

/**
 * The cosine similarity from which a message counts as being about a topic.
 * Similarity scales differ by model: measured on sample messages, the USE
 * encoder puts on-topic messages at 0.34 to 0.60 and small talk below 0.19.
 * The hashing embedder only sees shared words, diluted by the description's
 * length: a message naming a topic's word scores about 0.1 to 0.2 there.
 */
export function topicThresholdFor(model: string): number {
  return model.startsWith("hashing") ? 0.1 : 0.33;
}
