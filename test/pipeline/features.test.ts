import { describe, it, expect } from "vitest";
import {
  cosineSimilarity,
  countTurns,
  countUserQuestions,
  detectTopics,
  extractFeatures,
  sessionEmotion,
} from "../../src/pipeline/features.js";
import { TOPICS } from "../../src/pipeline/topics.js";
import type { Message, Role, TopicPrototype } from "../../src/domain.js";

const msg = (role: Role, content = "hello"): Message => ({ role, content });
const user = (content: string): Message => msg("user", content);

describe("countTurns", () => {
  it("is 0 for an empty conversation", () => {
    expect(countTurns([])).toBe(0);
  });

  it("is 0 for a conversation of system messages only", () => {
    expect(countTurns([msg("system"), msg("system")])).toBe(0);
  });

  it("counts each maximal run of one speaker as one turn", () => {
    expect(countTurns([msg("user"), msg("user"), msg("agent"), msg("user")])).toBe(3);
    expect(countTurns([msg("agent"), msg("user"), msg("agent"), msg("user")])).toBe(4);
    expect(countTurns([msg("user")])).toBe(1);
  });

  it("ignores system messages, which do not split a run", () => {
    expect(countTurns([msg("user"), msg("system"), msg("user")])).toBe(1);
    expect(countTurns([msg("system"), msg("agent"), msg("system"), msg("user"), msg("system")])).toBe(2);
  });
});

describe("countUserQuestions", () => {
  it("is 0 for an empty conversation and for empty messages", () => {
    expect(countUserQuestions([])).toBe(0);
    expect(countUserQuestions([user(""), user("   ")])).toBe(0);
  });

  it("counts sentences ending with '?'", () => {
    expect(countUserQuestions([user("Do you like jazz? Why? I do.")])).toBe(2);
    expect(countUserQuestions([user("You saw it?")])).toBe(1);
    expect(countUserQuestions([user("Really?!")])).toBe(1);
    expect(countUserQuestions([user('"Where are you?"')])).toBe(1);
    expect(countUserQuestions([user("You did? (really?) Sure.")])).toBe(2);
  });

  it("counts a sentence with no '?' that starts with an interrogative word", () => {
    expect(countUserQuestions([user("how do I reset my password")])).toBe(1);
    expect(countUserQuestions([user("What's your favourite film. I love Dune.")])).toBe(1);
    expect(countUserQuestions([user("where do you live\nwhat do you do")])).toBe(2);
    expect(countUserQuestions([user("Should I go. Could be fun.")])).toBe(2);
  });

  it("does not count statements, exclamations or negated auxiliaries", () => {
    expect(countUserQuestions([user("I wonder what you think.")])).toBe(0);
    expect(countUserQuestions([user("What a day! I am tired.")])).toBe(0);
    expect(countUserQuestions([user("Can't wait. Don't care.")])).toBe(0);
  });

  it("counts a sentence once even when it both starts with an interrogative and ends with '?'", () => {
    expect(countUserQuestions([user("What do you think?")])).toBe(1);
  });

  it("does not split sentences at decimals or inside web addresses", () => {
    expect(countUserQuestions([user("Is it 3.5 or 4?")])).toBe(1);
    expect(countUserQuestions([user("Have you seen example.com? It is cool.")])).toBe(1);
  });

  it("counts only user messages", () => {
    const messages = [msg("agent", "What about you?"), msg("system", "Why?"), user("Why not?")];
    expect(countUserQuestions(messages)).toBe(1);
  });

  it("sums over all user messages", () => {
    expect(countUserQuestions([user("Who are you?"), msg("agent", "A bot."), user("Is it fun? Yes.")])).toBe(2);
  });
});

describe("cosineSimilarity", () => {
  it("is 1 for parallel, 0 for orthogonal and -1 for opposite vectors", () => {
    expect(cosineSimilarity([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(cosineSimilarity([1, 0], [0, 5])).toBe(0);
    expect(cosineSimilarity([1, 1], [-1, -1])).toBeCloseTo(-1, 12);
  });

  it("is the normalised dot product", () => {
    expect(cosineSimilarity([1, 0], [1, 1])).toBeCloseTo(Math.SQRT1_2, 12);
  });

  it("accepts Float32Array", () => {
    expect(cosineSimilarity(new Float32Array([3, 4]), [3, 4])).toBeCloseTo(1, 6);
  });

  it("is 0 when either vector is all zeros", () => {
    expect(cosineSimilarity([0, 0], [1, 2])).toBe(0);
    expect(cosineSimilarity([1, 2], [0, 0])).toBe(0);
    expect(cosineSimilarity([], [])).toBe(0);
  });

  it("throws on vectors of different lengths", () => {
    expect(() => cosineSimilarity([1, 2], [1, 2, 3])).toThrow(/2 and 3/);
  });
});

describe("detectTopics", () => {
  const prototypes: TopicPrototype[] = [
    { topic: "movies", vector: [1, 0, 0] },
    { topic: "music", vector: new Float32Array([0, 1, 0]) },
  ];

  it("counts each message for its most similar topic when at or above the threshold", () => {
    const vectors = [[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0, 1]];
    expect(detectTopics(vectors, prototypes, 0.5)).toEqual({
      movies: { mentions: 2, affinity: 0.5 },
      music: { mentions: 1, affinity: 0.25 },
    });
  });

  it("leaves out topics with no message and messages below the threshold", () => {
    expect(detectTopics([[0.5, 0.1, 1]], prototypes, 0.5)).toEqual({});
    expect(detectTopics([[1, 0.2, 0]], prototypes, 0.99)).toEqual({});
  });

  it("counts a similarity equal to the threshold", () => {
    expect(detectTopics([[2, 0, 0]], prototypes, 1)).toEqual({ movies: { mentions: 1, affinity: 1 } });
  });

  it("gives a tie to the prototype listed first", () => {
    expect(detectTopics([[1, 1, 0]], prototypes, 0.5)).toEqual({ movies: { mentions: 1, affinity: 1 } });
  });

  it("rounds affinity to 4 decimals", () => {
    const vectors = [[1, 0, 0], [0, 0, 1], [0, 0, 1]];
    expect(detectTopics(vectors, prototypes, 0.5)).toEqual({ movies: { mentions: 1, affinity: 0.3333 } });
  });

  it("is empty with no messages, no prototypes, or zero vectors", () => {
    expect(detectTopics([], prototypes, 0.5)).toEqual({});
    expect(detectTopics([[1, 0, 0]], [], 0.5)).toEqual({});
    expect(detectTopics([[0, 0, 0]], prototypes, 0.5)).toEqual({});
  });
});

describe("sessionEmotion", () => {
  it("is neutral with valence 0 when there is no user message", () => {
    const neutral = { label: "neutral", valence: 0, positive_messages: 0, negative_messages: 0 };
    expect(sessionEmotion([])).toEqual(neutral);
    expect(sessionEmotion([msg("agent", "I love this, it is great!"), msg("system", "I hate it")])).toEqual(neutral);
  });

  it.each<[string, Message[], ReturnType<typeof sessionEmotion>]>([
    [
      "averages the AFINN comparative score of user messages",
      // "I love this movie, it is great!": score 6 over 7 tokens; "I watched it yesterday.": 0.
      [user("I love this movie, it is great!"), user("I watched it yesterday.")],
      { label: "positive", valence: 0.4286, positive_messages: 1, negative_messages: 0 },
    ],
    [
      "labels a negative session",
      [user("This is terrible and I hate it.")],
      { label: "negative", valence: -0.8571, positive_messages: 0, negative_messages: 1 },
    ],
    [
      "ignores agent messages",
      [msg("agent", "This is terrible and I hate it."), user("I am so happy today")],
      { label: "positive", valence: 0.6, positive_messages: 1, negative_messages: 0 },
    ],
    [
      "is neutral when positive and negative messages cancel out, and still counts both",
      [user("I love this movie, it is great!"), user("This is terrible and I hate it.")],
      { label: "neutral", valence: 0, positive_messages: 1, negative_messages: 1 },
    ],
  ])("%s", (_name, messages, emotion) => {
    expect(sessionEmotion(messages)).toEqual(emotion);
  });

  it("clamps valence to 1", () => {
    // "Amazing amazing amazing": comparative 4.
    expect(sessionEmotion([user("Amazing amazing amazing")]).valence).toBe(1);
  });

  it("labels positive from valence 0.05 and neutral just below", () => {
    const happy = user("I am so happy today"); // comparative 0.6
    const ok = user("ok"); // comparative 0
    expect(sessionEmotion([happy, ...Array<Message>(11).fill(ok)])).toMatchObject({ label: "positive", valence: 0.05 });
    expect(sessionEmotion([happy, ...Array<Message>(12).fill(ok)])).toMatchObject({ label: "neutral", valence: 0.0462 });
  });
});

describe("extractFeatures", () => {
  const prototypes: TopicPrototype[] = [
    { topic: "movies", vector: [1, 0] },
    { topic: "music", vector: [0, 1] },
  ];

  it("computes all features, detecting topics on user and agent messages only", () => {
    const messages: Message[] = [
      msg("system", "You are a movie buddy."),
      msg("agent", "Seen any good movies lately?"),
      user("Yes, Dune. Have you seen it?"),
      msg("agent", "I loved it!"),
      user("I love the music in it"),
    ];
    const vectors = [[1, 0], [1, 0], [1, 0.1], [0, 0], [0.1, 1]];
    expect(extractFeatures({ messages, messageVectors: vectors, prototypes, topicThreshold: 0.8 })).toEqual({
      total_turns: 4,
      user_initiated_questions: 1,
      topic_metrics: {
        movies: { mentions: 2, affinity: 0.5 },
        music: { mentions: 1, affinity: 0.25 },
      },
      // "yes" +1 over 6 tokens, "love" +3 over 6 tokens: mean of 1/6 and 1/2.
      session_emotion: { label: "positive", valence: 0.3333, positive_messages: 2, negative_messages: 0 },
    });
  });

  it("gives empty features for an empty conversation", () => {
    expect(extractFeatures({ messages: [], messageVectors: [], prototypes, topicThreshold: 0.5 })).toEqual({
      total_turns: 0,
      user_initiated_questions: 0,
      topic_metrics: {},
      session_emotion: { label: "neutral", valence: 0, positive_messages: 0, negative_messages: 0 },
    });
  });

  it("gives empty features for a system-only conversation", () => {
    const messages = [msg("system", "What is this?")];
    expect(extractFeatures({ messages, messageVectors: [[1, 0]], prototypes, topicThreshold: 0.5 })).toEqual({
      total_turns: 0,
      user_initiated_questions: 0,
      topic_metrics: {},
      session_emotion: { label: "neutral", valence: 0, positive_messages: 0, negative_messages: 0 },
    });
  });

  it("throws when messages and vectors are not aligned", () => {
    expect(() =>
      extractFeatures({ messages: [user("hi")], messageVectors: [], prototypes, topicThreshold: 0.5 }),
    ).toThrow(/1 messages but 0 message vectors/);
  });
});

describe("TOPICS", () => {
  it("lists the 14 topics once each, each with a description that names it", () => {
    const names = TOPICS.map((t) => t.topic);
    expect(names).toEqual([
      "movies", "music", "sports", "food", "travel", "books", "games",
      "technology", "pets", "nature", "art", "science", "family", "work",
    ]);
    for (const { topic, description } of TOPICS) {
      expect(description.toLowerCase().split(/\s+/)).toContain(topic);
      expect(description.split(/\s+/).length).toBeGreaterThanOrEqual(10);
    }
  });
});
