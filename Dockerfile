# syntax=docker/dockerfile:1
# AgentVine in a container: build the single executable the way the README does (npm brings Bun),
# then run it on a glibc distroless image as a non-root user, with the data directory on a volume.

FROM node:20-bookworm-slim AS build
WORKDIR /src
# The sources come first: `npm ci` runs the package's `prepare` script (the stylesheet), which reads the views.
COPY . .
# Installs Bun itself (a devDependency) along with everything the build needs.
RUN npm ci --no-audit --no-fund
# Generates the stylesheet from the views, then compiles dist/agentvine with every asset embedded.
RUN node_modules/.bin/bun scripts/build.ts \
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
