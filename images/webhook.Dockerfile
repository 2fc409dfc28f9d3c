# Weir admission webhook image.
# NOT BUILT OR TESTED on the development machine (it has no container engine); the chart tests
# render and dry-run the manifests that reference this image, not the image itself. Build from the
# repository root:  docker build -f images/webhook.Dockerfile -t <registry>/weir-webhook:<tag> .
# Layout inside the image mirrors the repository (/opt/weir/dist, /opt/weir/node_modules) so the
# compiled ESM imports resolve exactly as they do in a checkout.

FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY common ./common
COPY webhook ./webhook
COPY agent ./agent
COPY cli ./cli
COPY native/index.ts ./native/index.ts
RUN node_modules/.bin/tsc -p tsconfig.build.json \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /opt/weir
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# Unprivileged; matches runAsUser/runAsGroup in the chart. The root filesystem is read-only there.
USER 65532:65532
EXPOSE 9443 8080
ENTRYPOINT ["node", "dist/webhook/src/main.js"]
