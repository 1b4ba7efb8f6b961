# meshtrail image: builds the TypeScript and the native SQLite binding, then runs as a non-root user.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY schemas ./schemas
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY migrations ./migrations
COPY src/console/index.html src/console/console.css ./src/console/
RUN mkdir -p /data && chown node:node /data
USER node
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["run", "--config", "/etc/meshtrail/meshtrail.yaml"]
