import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { readUserState } from "../queries.js";
import { errorResponses, userParams, userStateSchema } from "../schemas.js";
import { bindLog, type RouteContext } from "./context.js";

export const userRoutes: FastifyPluginAsyncZod<RouteContext> = async (app, { db }) => {
  app.get("/v1/users/:profile_id/state", {
    schema: {
      tags: ["users"],
      summary: "A user's friendship status and precomputed agent candidates",
      params: userParams,
      response: { 200: userStateSchema, ...errorResponses(400, 401, 503) },
    },
  }, async (request, reply) => {
    bindLog(request, { profile_id: request.params.profile_id });
    return reply.code(200).send(await readUserState(db, request.params.profile_id));
  });
};
