// GET /dashboard: the operator's page, plain HTML, CSS and ES modules from src/http/dashboard/,
// served as they are (no build step). The files need no key; the page asks for it and sends it
// to the JSON routes (src/http/routes/operations.ts) itself.
import path from "node:path";
import type { FastifyPluginAsync } from "fastify";
import fastifyStatic from "@fastify/static";

export const DASHBOARD_DIR = path.join(import.meta.dirname, "..", "dashboard");

// Only the page's own files run, and it talks only to this origin; no other site may frame it.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  app.addHook("onRoute", (route) => {
    route.config = { ...route.config, public: true };
  });
  app.addHook("onSend", async (_request, reply) => {
    reply.header("content-security-policy", CONTENT_SECURITY_POLICY);
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
  });
  await app.register(fastifyStatic, { root: DASHBOARD_DIR, prefix: "/dashboard/" });
  app.get("/dashboard", { schema: { hide: true } }, (_request, reply) => reply.sendFile("index.html"));
};
