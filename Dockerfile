# syntax=docker/dockerfile:1
# AgentVine in a container: build the single executable with Bun, run it on a glibc distroless image
# as a non-root user, with the data directory on a volume.

FROM oven/bun:1.4.5 AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN bun install --frozen-lockfile --ignore-scripts
COPY . .
RUN bun scripts/build.ts \
 && mkdir -p /out/data \
 && cp dist/agentvine /out/agentvine

# The binary needs only glibc and libstdc++ (no Bun, no Node): distroless "cc", not "static".
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/agentvine /usr/local/bin/agentvine
COPY --from=build --chown=65532:65532 /out/data /data
ENV AGENTVINE_HOST=0.0.0.0 \
    AGENTVINE_PORT=8080 \
    AGENTVINE_DATA_DIR=/data
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/agentvine", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/agentvine"]
CMD ["serve"]
