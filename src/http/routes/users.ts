import { Readable } from "node:stream";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { CachedEmbedder } from "../../embed/cache.js";
import { createEmbedder } from "../../embed/index.js";
import { openExport } from "../export-stream.js";
import { readUserState } from "../queries.js";
import {
  errorResponses, forgottenSchema, searchQuery, searchResultSchema, userParams, userStateSchema,
} from "../route-schemas.js";
import { forgetUser, searchConversations } from "../user-data.js";
import type { RouteContext } from "./context.js";

export const userRoutes: FastifyPluginAsyncZod<RouteContext> = async (app, { db, pool, config }) => {
  // The configured embedder turns a search's words into its query vector. It
  // is built on the first search (the local model takes memory and a moment
  // to load) and keeps vectors in memory only: the API may not write
  // parley.embedding_cache.
  let embedder: CachedEmbedder | undefined;
  const queryEmbedder = () => (embedder ??= new CachedEmbedder(createEmbedder(config.embedder, config.embedding), { maxEntries: 1000 }));
  app.addHook("onClose", async () => {
    await embedder?.close();
  });

  app.get("/v1/users/:profile_id/state", {
    schema: {
      tags: ["users"],
      summary: "A user's friendship status and precomputed agent candidates",
      params: userParams,
      response: { 200: userStateSchema, ...errorResponses(400, 401, 503) },
    },
  }, async (request, reply) => reply.code(200).send(await readUserState(db, request.params.profile_id)));

  app.get("/v1/users/:profile_id/search", {
    schema: {
      tags: ["users"],
      summary: "Search a user's past conversations (parley.search_conversations): full-text search fused with vector similarity",
      params: userParams,
      querystring: searchQuery,
      response: { 200: searchResultSchema, ...errorResponses(400, 401, 503) },
    },
  }, async (request, reply) => {
    const profileId = request.params.profile_id;
    let embedding: number[] | null = null;
    try {
      const [vector] = await queryEmbedder().embed([request.query.q]);
      // Words the embedder has no vector for (the zero vector) leave the keywords to search alone.
      if (vector !== undefined && vector.some((x) => x !== 0)) embedding = Array.from(vector);
    } catch (error) {
      request.log.warn({ err: error }, "could not embed the search query; searching by its words alone");
    }
    const results = await searchConversations(db, profileId, request.query, embedding);
    return reply.code(200).send({ profile_id: profileId, query: request.query.q, mode: embedding === null ? "keyword" : "hybrid", results });
  });

  app.delete("/v1/users/:profile_id", {
    schema: {
      tags: ["users"],
      summary: "Forget a user (parley.forget_user): deletes everything Parley holds about them, and answers the counts",
      params: userParams,
      response: { 200: forgottenSchema, ...errorResponses(400, 401, 503) },
    },
  }, async (request, reply) => {
    const counts = await forgetUser(db, request.params.profile_id);
    request.log.info({ deleted: counts }, "user forgotten");
    return reply.code(200).send(counts);
  });

  app.get("/v1/users/:profile_id/export", {
    schema: {
      tags: ["users"],
      summary: "Everything held about a user as one JSON document (parley.export_user), streamed page by page",
      params: userParams,
      response: errorResponses(400, 401, 503),
    },
  }, async (request, reply) => {
    const chunks = await openExport(await pool.connect(), request.params.profile_id);
    return reply.code(200).type("application/json; charset=utf-8").send(Readable.from(chunks) as never);
  });
};
