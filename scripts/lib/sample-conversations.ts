// Sample conversations for the demo and the benchmarks: a pure function of (count, seed, options),
// so a run can be repeated exactly. Users, bots, topics and moods vary; the text is the everyday
// chat the pipeline is built for (topic words, questions, sentiment words), not lorem ipsum.

/** A `parley.end_conversation` payload (README, "The SQL API"). */
export interface SampleConversation {
  conversation_id: string;
  profile_id: string;
  bot_type: "TALK" | "GREETING" | "GAME_ACTIVITY";
  bot_id: string;
  bot_name: string;
  start_time: string;
  end_time: string;
  conversation_log: Array<{ role: "user" | "agent"; content: string; timestamp: string }>;
  metadata: { topic: string; mood: Mood; generator: string };
}

export type Mood = "cheerful" | "calm" | "tired" | "grumpy";

export interface SampleOptions {
  /** Distinct users to spread the conversations over (some users get many, most a few). Default: count / 6, at least 3. */
  users?: number;
  /** Prefix of conversation ids; default `sample_<seed>_`. Same seed and prefix give the same ids, so re-sending is idempotent. */
  idPrefix?: string;
  /** Prefix of user ids; default `user_`. Give one per run to start every user as a stranger. */
  userPrefix?: string;
  /** Latest end time, in ms since the epoch; conversations spread over the 7 days before it. Default 2025-11-25T18:00:00Z. */
  until?: number;
  /** Messages per conversation: [min, max]. Default [16, 24]. */
  messages?: [number, number];
}

/** The agents seeded into `parley.agent_catalog` by migrations/0001_initial.sql. */
export const SAMPLE_BOTS: ReadonlyArray<{ id: string; type: SampleConversation["bot_type"]; name: string; topics: readonly string[] }> = [
  { id: "greet_first_hello", type: "GREETING", name: "First Hello", topics: [] },
  { id: "greet_welcome_back", type: "GREETING", name: "Welcome Back", topics: [] },
  { id: "greet_old_friend", type: "GREETING", name: "Old Friend Check-in", topics: ["family", "work"] },
  { id: "greet_topic_hook", type: "GREETING", name: "Picks Up Where We Left", topics: ["movies", "music", "books", "sports"] },
  { id: "talk_movie_preference", type: "TALK", name: "Movie Preference Talk", topics: ["movies"] },
  { id: "talk_music_taste", type: "TALK", name: "Music Taste Talk", topics: ["music"] },
  { id: "talk_weekend_plans", type: "TALK", name: "Weekend Plans", topics: ["travel", "nature", "sports"] },
  { id: "talk_food_stories", type: "TALK", name: "Food Stories", topics: ["food", "travel"] },
  { id: "talk_book_club", type: "TALK", name: "Book Club", topics: ["books", "art"] },
  { id: "talk_tech_news", type: "TALK", name: "Tech News Chat", topics: ["technology", "science"] },
  { id: "talk_pet_tales", type: "TALK", name: "Pet Tales", topics: ["pets", "nature"] },
  { id: "talk_life_goals", type: "TALK", name: "Life Goals", topics: ["work", "family"] },
  { id: "talk_sports_fan", type: "TALK", name: "Sports Fan Talk", topics: ["sports"] },
  { id: "game_movie_quiz", type: "GAME_ACTIVITY", name: "Movie Quiz", topics: ["movies"] },
  { id: "game_song_guess", type: "GAME_ACTIVITY", name: "Guess the Song", topics: ["music"] },
  { id: "game_twenty_questions", type: "GAME_ACTIVITY", name: "Twenty Questions", topics: [] },
  { id: "game_trivia_science", type: "GAME_ACTIVITY", name: "Science Trivia", topics: ["science", "technology", "nature"] },
  { id: "game_word_chain", type: "GAME_ACTIVITY", name: "Word Chain", topics: ["books", "art"] },
  { id: "game_travel_bingo", type: "GAME_ACTIVITY", name: "Travel Bingo", topics: ["travel", "food"] },
  { id: "game_would_you_rather", type: "GAME_ACTIVITY", name: "Would You Rather", topics: ["family", "work", "games"] },
];

interface TopicBank {
  things: readonly string[];
  /** Agent prompts; `{x}` is one of `things`. */
  asks: readonly string[];
  /** User statements. */
  says: readonly string[];
  /** Questions the user asks back. */
  wonders: readonly string[];
}

const BANKS: Readonly<Record<string, TopicBank>> = {
  movies: {
    things: ["Dune", "Inception", "Spirited Away", "The Matrix", "Past Lives", "Paddington 2", "Oppenheimer", "Everything Everywhere All at Once"],
    asks: ["Seen any good movies lately?", "What did you think of {x}?", "Do you prefer watching films at the cinema or at home?", "Which actor would you watch in anything?", "Any series you are binge-watching on Netflix right now?"],
    says: ["I watched {x} at the theater last weekend.", "The soundtrack of {x} was incredible, and the last scene gave me chills.", "I usually watch a movie with my popcorn on Friday nights.", "My favorite director is Denis Villeneuve, his films look amazing.", "I rewatched {x} on Netflix and noticed so many details I missed."],
    wonders: ["Have you seen {x}?", "What movie should I watch tonight?", "Do you think the sequel will be better than the first film?", "Which film made you laugh the most?"],
  },
  music: {
    things: ["Taylor Swift", "Radiohead", "Daft Punk", "Billie Eilish", "Miles Davis", "Kendrick Lamar", "Coldplay", "Fleetwood Mac"],
    asks: ["What music have you been listening to?", "Do you play any instrument?", "Have you been to a concert recently?", "What is on your playlist this week?", "Which album could you listen to on repeat?"],
    says: ["I have {x} on repeat on Spotify.", "I went to a {x} concert and sang every song.", "I am learning guitar, my fingers hurt but I love it.", "My playlist for running is mostly rock and pop.", "The lyrics of that album really speak to me."],
    wonders: ["Do you know any songs by {x}?", "What song should I add to my playlist?", "Is it hard to learn piano as an adult?", "Which band would you go see live?"],
  },
  sports: {
    things: ["the Lakers", "Real Madrid", "the Yankees", "Serena Williams", "the World Cup", "the marathon", "my soccer team", "the Olympics"],
    asks: ["Did you catch the game last night?", "Do you play any sports?", "Who is your favorite team?", "How is your training going?", "Are you following {x} this season?"],
    says: ["I watched {x} play, the score was so close at the end.", "I play football with friends every Sunday morning.", "I started running three times a week at the gym.", "Our coach made us practice penalties for an hour.", "Basketball is my favorite sport to watch."],
    wonders: ["Do you think {x} will win the match?", "What sport would you try first?", "How do players stay so fit all season?", "Who is the best player right now?"],
  },
  food: {
    things: ["ramen", "pizza", "tacos", "pad thai", "lasagna", "sushi", "banana bread", "curry"],
    asks: ["What did you have for dinner?", "Do you like cooking?", "What is your comfort food?", "Tried any new restaurant recently?", "What would you cook for friends?"],
    says: ["I cooked {x} for dinner and it was delicious.", "My favorite restaurant makes the best {x} in town.", "I tried a new recipe for {x} in my tiny kitchen.", "Breakfast is my favorite meal, I could eat pancakes every day.", "I snack way too much when I work from home."],
    wonders: ["Do you have a good recipe for {x}?", "What is the tastiest thing you know about?", "Is it hard to make {x} at home?", "Which cuisine should I try next?"],
  },
  travel: {
    things: ["Japan", "Lisbon", "Iceland", "Mexico City", "the Alps", "Rome", "a beach in Thailand", "New York"],
    asks: ["Where did you go on your last vacation?", "Any trip planned for the holidays?", "What is the best city you have visited?", "Do you prefer beach or mountains?", "Where would you fly tomorrow if you could?"],
    says: ["I visited {x} last summer and loved the food.", "Our flight was delayed but the hotel was great.", "I want to travel abroad more this year.", "We spent a week at {x}, it was a dream trip.", "Airports stress me out but the journey is worth it."],
    wonders: ["Have you heard about {x}?", "What should I pack for a trip to {x}?", "Which city is best for a first trip abroad?", "Is it better to travel in spring or autumn?"],
  },
  books: {
    things: ["Project Hail Mary", "The Hobbit", "Pride and Prejudice", "Dune", "The Night Circus", "Sapiens", "Harry Potter", "Circe"],
    asks: ["Reading anything good?", "Who is your favorite author?", "Do you prefer fiction or non-fiction?", "What book changed how you think?", "Do you read before bed?"],
    says: ["I am reading {x}, I could not put the book down.", "The last chapter of {x} surprised me.", "I borrowed three novels from the library this week.", "Fantasy stories are my favorite to read.", "I write short poems in a notebook sometimes."],
    wonders: ["Have you read {x}?", "What book should I read next?", "Which author writes the best stories?", "Do you think the book is better than the movie?"],
  },
  art: {
    things: ["watercolors", "the Van Gogh museum", "a charcoal sketch", "pottery", "street art", "a portrait", "an art gallery", "digital painting"],
    asks: ["Do you like to draw or paint?", "Been to a museum lately?", "What kind of art do you enjoy?", "Are you working on any creative project?", "Which artist inspires you?"],
    says: ["I started painting with {x} and the colors are beautiful.", "We went to {x} and I loved the design of the rooms.", "I draw a small sketch every morning.", "Crafts help me relax after a long day.", "My sister is an artist and her paintings are amazing."],
    wonders: ["Have you ever tried {x}?", "What should I draw today?", "Is it hard to learn to paint portraits?", "Which museum would you visit first?"],
  },
  technology: {
    things: ["a new laptop", "my smartphone", "an AI app", "a Raspberry Pi", "a robot vacuum", "a coding course", "smart glasses", "an electric bike"],
    asks: ["Any new gadget you are excited about?", "Do you code?", "What app do you use the most?", "What do you think about AI these days?", "Is your phone still working fine?"],
    says: ["I bought {x} and set it up all weekend.", "I am learning programming with {x}.", "My computer keeps crashing when I open too many apps.", "I built a small robot with my nephew.", "The internet was down all day and I felt lost."],
    wonders: ["Do you know how {x} works?", "Which laptop is good for coding?", "Can AI really write software now?", "What app should I try?"],
  },
  science: {
    things: ["black holes", "the Mars rover", "DNA", "the James Webb telescope", "volcanoes", "quantum physics", "dinosaurs", "the Moon landing"],
    asks: ["Do you like science?", "What is the coolest discovery you know?", "Space or oceans: which is more mysterious?", "Did you see the news about {x}?", "Ever done an experiment at home?"],
    says: ["I watched a documentary about {x}, the research is fascinating.", "Space and planets always make me curious.", "We did a chemistry experiment in class with baking soda.", "I read that {x} can teach us how things work.", "Biology was my favorite subject at school."],
    wonders: ["How do scientists study {x}?", "What is the biggest star we know?", "Why is the sky blue?", "Could people live on Mars one day?"],
  },
  nature: {
    things: ["the mountains", "a pine forest", "the river", "the ocean", "my garden", "a camping trip", "the national park", "the lake"],
    asks: ["Do you spend time outdoors?", "How is the weather where you are?", "Do you like hiking?", "Have you been camping?", "What is growing in your garden?"],
    says: ["We went hiking in {x} and saw a deer.", "I planted flowers in {x} this spring.", "The weather was sunny so I walked by {x}.", "Camping under the stars is my favorite thing.", "The trees turned orange and the forest smelled great."],
    wonders: ["Have you ever been to {x}?", "What flowers are easy to grow?", "Is it safe to hike alone in the mountains?", "Which season do you like best outdoors?"],
  },
  pets: {
    things: ["my dog Biscuit", "our cat Luna", "a puppy", "a kitten", "my hamster", "the goldfish", "a rescue dog", "my parrot"],
    asks: ["Do you have any pets?", "Dogs or cats?", "What did your pet do today?", "How old is your pet?", "Would you adopt another animal?"],
    says: ["I took {x} for a long walk in the park.", "{x} knocked a glass off the table again.", "We adopted {x} from the shelter last month.", "Feeding the cat is the first thing I do every morning.", "The vet said {x} is healthy and happy."],
    wonders: ["Do you think {x} understands me?", "What is the best food for a puppy?", "How do I teach my dog a new trick?", "Why do cats sleep so much?"],
  },
  family: {
    things: ["my mom", "my dad", "my little brother", "my sister", "grandma", "my kids", "my cousins", "my parents"],
    asks: ["How is your family doing?", "Did you see your family this week?", "Who are you closest to at home?", "Any family plans for the weekend?", "What do you do together at home?"],
    says: ["I had dinner with {x} and we laughed a lot.", "{x} called me yesterday to check on me.", "We visited {x} and played board games all evening.", "My family is planning a trip together.", "Helping the kids with homework takes all evening."],
    wonders: ["Do you think I should call {x} more often?", "What gift should I get for {x}?", "How do families keep in touch when they live far apart?", "Is it normal to miss home this much?"],
  },
  work: {
    things: ["the big project", "my boss", "the quarterly meeting", "a job interview", "the deadline", "my coworkers", "my homework", "a promotion"],
    asks: ["How was work today?", "How is {x} going?", "What do you do for a living?", "Do you like your job?", "What are your career goals?"],
    says: ["I had a long meeting about {x} at the office.", "My coworkers helped me finish {x} before the deadline.", "I am working hard on {x} this week.", "I have {x} tomorrow and I am preparing.", "I want to change careers and learn something new."],
    wonders: ["Do you think I should ask about {x}?", "How do I prepare for {x}?", "What career would suit someone like me?", "Is it okay to work from home every day?"],
  },
  games: {
    things: ["Minecraft", "Zelda", "chess", "Mario Kart", "a puzzle game", "Catan", "Fortnite", "Stardew Valley"],
    asks: ["Playing any games these days?", "Console or PC?", "What is your favorite board game?", "Which level are you stuck on?", "Do you play games with friends?"],
    says: ["I played {x} with my friends all evening.", "I finally beat the last level of {x}.", "We play {x} every game night.", "My new console arrived and I love it.", "I am stuck on a puzzle in {x}."],
    wonders: ["Have you played {x}?", "What game should I try next?", "Is {x} good for beginners?", "Which console has the best games?"],
  },
};

const ALL_TOPICS = Object.keys(BANKS);
const MOODS: readonly Mood[] = ["cheerful", "calm", "tired", "grumpy"];

const GREETINGS: Readonly<Record<Mood, readonly string[]>> = {
  cheerful: ["Hi! I am in a great mood today.", "Hey there! So happy to chat.", "Hello! What a wonderful day."],
  calm: ["Hi.", "Hello, how are you?", "Hey, I have a few minutes."],
  tired: ["Hi... I am so tired today.", "Hey. Long day, sorry if I am slow.", "Hello, I barely slept last night."],
  grumpy: ["Ugh, hi. Bad day.", "Hey. Everything is annoying today.", "Hi. I am frustrated, honestly."],
};

/** Appended to some user messages: the words the sentiment stage scores. */
const FEELINGS: Readonly<Record<Mood, readonly string[]>> = {
  cheerful: ["I love it!", "That was awesome.", "It made me so happy.", "Honestly, it was fantastic.", "Best part of my week!"],
  calm: ["It was fine.", "Nothing special, but okay.", "Pretty normal.", "We will see.", ""],
  tired: ["I was exhausted after.", "I am too tired to enjoy it.", "Sorry, I feel sleepy.", "It was a bit boring, to be honest."],
  grumpy: ["It was terrible.", "I hate when that happens.", "That annoyed me so much.", "What a disappointing mess.", "Ugh, awful and stupid."],
};
/** How often a user message carries a feeling: low moods spill over more. */
const FEELING_RATE: Readonly<Record<Mood, number>> = { cheerful: 0.5, calm: 0.3, tired: 0.6, grumpy: 0.75 };

const AGENT_REACTIONS: readonly string[] = [
  "That sounds great!", "Oh, interesting.", "I see what you mean.", "Ha, I love that.", "Tell me more.", "That makes sense.",
];
const AGENT_OPENERS: Readonly<Record<SampleConversation["bot_type"], readonly string[]>> = {
  GREETING: ["Hello again! How have you been?", "Hi! Nice to see you. How is your day going?", "Hey! I was hoping you would stop by."],
  TALK: ["Hi! I would love to hear about your day.", "Hey! Want to chat for a bit?", "Hello! I have a fun topic for us today."],
  GAME_ACTIVITY: ["Ready to play? Let's start with round one!", "Game time! I will ask, you answer.", "Let's play! Are you ready?"],
};
const FAREWELLS_AGENT: readonly string[] = ["This was fun, talk soon!", "Thanks for chatting with me. See you next time!", "Good talk! Take care."];
const FAREWELLS_USER: Readonly<Record<Mood, readonly string[]>> = {
  cheerful: ["Thanks, that was lovely! Bye!", "Great chat, see you soon!"],
  calm: ["Okay, bye.", "Thanks, talk later."],
  tired: ["I need to sleep now. Bye.", "Going to rest, bye."],
  grumpy: ["Whatever, bye.", "Fine. Bye."],
};

/** Mulberry32: a small, well-mixed 32-bit generator; enough for sample data, not for secrets. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEFAULT_UNTIL = Date.parse("2025-11-25T18:00:00Z");
const WEEK_MS = 7 * 24 * 3600 * 1000;

/**
 * `count` end_conversation payloads, the same for the same arguments. Every conversation has a
 * unique id, a user from a skewed pool (a few regulars, many occasional users, so friendship
 * levels differ), a bot from the seeded catalog, one or two topics that bot talks about, a mood
 * that colours the user's words, and 16 to 24 timestamped messages.
 */
export function sampleConversations(count: number, seed: number, options: SampleOptions = {}): SampleConversation[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  const next = random(Math.trunc(seed));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const between = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));

  const users = options.users ?? Math.max(3, Math.round(count / 6));
  const idPrefix = options.idPrefix ?? `sample_${Math.trunc(seed)}_`;
  const userPrefix = options.userPrefix ?? "user_";
  const until = options.until ?? DEFAULT_UNTIL;
  const [minMessages, maxMessages] = options.messages ?? [16, 24];
  const width = String(Math.max(users, count)).length;

  const conversations: SampleConversation[] = [];
  for (let index = 0; index < count; index += 1) {
    // Squaring skews the pick towards low user numbers: regulars who become friends.
    const user = Math.floor(next() ** 2 * users);
    const bot = pick(SAMPLE_BOTS);
    const topic = bot.topics.length > 0 ? pick(bot.topics) : pick(ALL_TOPICS);
    const sideTopic = next() < 0.3 ? pick(ALL_TOPICS) : topic;
    const mood = pick(MOODS);
    const length = between(minMessages, maxMessages);
    const start = until - WEEK_MS + Math.floor(next() * (WEEK_MS / 1000 - 3600)) * 1000;

    const texts = converse({ bot, topic, sideTopic, mood, length, pick, next });
    let clock = start;
    const log = texts.map(([role, content]) => {
      clock += between(4, 45) * 1000;
      return { role, content, timestamp: new Date(clock).toISOString() };
    });
    conversations.push({
      conversation_id: `${idPrefix}${String(index).padStart(width, "0")}`,
      profile_id: `${userPrefix}${String(user + 1).padStart(width, "0")}`,
      bot_type: bot.type,
      bot_id: bot.id,
      bot_name: bot.name,
      start_time: new Date(start).toISOString(),
      end_time: new Date(clock + between(1, 30) * 1000).toISOString(),
      conversation_log: log,
      metadata: { topic, mood, generator: "sample-conversations/1" },
    });
  }
  return conversations;
}

function converse(input: {
  bot: (typeof SAMPLE_BOTS)[number];
  topic: string;
  sideTopic: string;
  mood: Mood;
  length: number;
  pick: <T>(items: readonly T[]) => T;
  next: () => number;
}): Array<["user" | "agent", string]> {
  const { bot, topic, sideTopic, mood, length, pick, next } = input;
  const fill = (template: string, bank: TopicBank) => template.replaceAll("{x}", pick(bank.things));
  const feel = (text: string) => {
    const feeling = next() < FEELING_RATE[mood] ? pick(FEELINGS[mood]) : "";
    return feeling === "" ? text : `${text} ${feeling}`;
  };
  const lines: Array<["user" | "agent", string]> = [
    ["agent", pick(AGENT_OPENERS[bot.type])],
    ["user", pick(GREETINGS[mood])],
  ];
  // Middle: the agent asks, the user answers and sometimes asks back; closing takes two lines.
  while (lines.length < length - 2) {
    const bank = BANKS[next() < 0.75 ? topic : sideTopic]!;
    const last = lines[lines.length - 1]![0];
    if (last === "user") {
      const reaction = next() < 0.4 ? `${pick(AGENT_REACTIONS)} ` : "";
      lines.push(["agent", reaction + fill(pick(bank.asks), bank)]);
    } else {
      const answer = feel(fill(pick(bank.says), bank));
      lines.push(["user", next() < 0.3 ? `${answer} ${fill(pick(bank.wonders), bank)}` : answer]);
    }
  }
  if (lines[lines.length - 1]![0] === "agent") lines.push(["user", feel(fill(pick(BANKS[topic]!.says), BANKS[topic]!))]);
  lines.push(["agent", pick(FAREWELLS_AGENT)], ["user", pick(FAREWELLS_USER[mood])]);
  return lines;
}
