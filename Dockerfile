# dialin in a container: `docker build -t dialin .`, then
#   docker run -d -p 8080:8080 -v dialin-data:/var/lib/dialin -e DIALIN_PUBLIC_URL=https://dialin.example.com dialin
# The data volume holds the SQLite database and the key file (back both up; see README.md,
# "Running in production"); with DATABASE_URL=postgres://… only the key file lives there.
# Runs as the unprivileged user dialin (uid 10001), never root.

FROM node:20-bookworm-slim AS build
WORKDIR /opt/dialin
# better-sqlite3 builds from source when no prebuilt binary fits.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm rebuild better-sqlite3 && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY scripts ./scripts
COPY README.md ARCHITECTURE.md tsconfig.json ./
# The bundle in dist/ that bin/dialin.js runs (a fast start; it falls back to the sources otherwise).
RUN npm run build

FROM node:20-bookworm-slim
# pg_dump and pg_restore for `dialin backup` / `dialin restore` on PostgreSQL; tini forwards
# SIGTERM (dialin finishes the mail in flight, then exits) and reaps children.
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client tini ca-certificates && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 dialin && useradd --system --uid 10001 --gid dialin --home-dir /var/lib/dialin --shell /usr/sbin/nologin dialin \
 && mkdir -p /var/lib/dialin && chown dialin:dialin /var/lib/dialin && chmod 0700 /var/lib/dialin
WORKDIR /opt/dialin
COPY --from=build /opt/dialin /opt/dialin
ENV NODE_ENV=production DIALIN_DATA_DIR=/var/lib/dialin HOST=0.0.0.0 PORT=8080
VOLUME ["/var/lib/dialin"]
EXPOSE 8080
USER dialin:dialin
HEALTHCHECK --interval=30s --timeout=5s CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/dialin/bin/dialin.js"]
CMD ["serve"]
