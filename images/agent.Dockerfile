# Weir node agent image: the agent, its BPF objects, the native libbpf addon and the `weir` CNI
# plugin binary (copied into the host's CNI bin dir by the chart's init container).
# NOT BUILT OR TESTED on the development machine (it has no container engine); the chart tests
# render and dry-run the manifests that reference this image, not the image itself. Build from the
# repository root:  docker build -f images/agent.Dockerfile -t <registry>/weir-agent:<tag> .
# Paths the chart relies on: /opt/weir/build/bpf (WEIR_BPF_OBJECT), /opt/weir/build/bin/weir.

FROM node:22-bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      clang llvm libbpf-dev libelf-dev zlib1g-dev make g++ python3 pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
# BPF objects, native addon, static CNI plugin, TypeScript: the same targets as a checkout's build.
RUN make --no-print-directory bpf native cni ts \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim
# Runtime libraries of the native addon (libbpf links libelf and zlib).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libbpf1 libelf1 zlib1g \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /opt/weir
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/build/bpf ./build/bpf
COPY --from=build /src/build/bin/weir ./build/bin/weir
COPY --from=build /src/native/build/Release/weir_native.node ./native/build/Release/weir_native.node
# Runs as root and privileged (BPF, netns, tc); see the chart's agent DaemonSet.
# 9962: loopback API (status, flows, probes); 9963: read-only /metrics on the node address.
EXPOSE 9963
ENTRYPOINT ["node", "dist/agent/src/main.js"]
