# One image for every Parley process; docker-compose.yml picks the command
# (npm run migrate / worker / api, as in README).
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# tsx runs the TypeScript sources directly, so the image needs no build step.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY migrations ./migrations
COPY sql ./sql
COPY src ./src
COPY scripts ./scripts

USER node
EXPOSE 3000 9464
CMD ["npm", "start"]
