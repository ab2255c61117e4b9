# The gateway as a container. Runs TypeScript directly with tsx (no build step), as `npm run gateway` does.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY gateway ./gateway
COPY rules ./rules
COPY profiles ./profiles
COPY config ./config
COPY tsconfig.json ./
EXPOSE 1883 8080
VOLUME /app/data
ENTRYPOINT ["npx", "tsx", "gateway/src/main.ts"]
CMD ["--config", "/app/config/docker.yaml"]
