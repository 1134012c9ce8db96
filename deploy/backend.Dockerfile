# syntax=docker/dockerfile:1
# The backend container (App Runner): the axum server with the browser bundle beside it, run in
# cloud mode by the template's environment (SPACEPORT_MODE=aws and the resources' names). Build
# from the repository root:
#   docker build -f deploy/backend.Dockerfile -t spaceport-backend .

FROM rust:1.95-bookworm AS build
WORKDIR /src
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
COPY . .
# The same tools the README's commands install (wasm-bindgen, binaryen's wasm-opt).
RUN bash -c 'source scripts/setup.sh' \
 && cargo build --locked --release -p server \
 && PATH="/src/end2end/node_modules/.bin:$PATH" scripts/build-site.sh

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 spaceport
COPY --from=build /src/target/release/server /usr/local/bin/spaceport-server
COPY --from=build /src/target/site /srv/spaceport/site
ENV SPACEPORT_SITE_ROOT=/srv/spaceport/site \
    SPACEPORT_DATA_DIR=/home/spaceport/data \
    SPACEPORT_ADDR=0.0.0.0:3000
USER spaceport
EXPOSE 3000
ENTRYPOINT ["spaceport-server"]
CMD ["serve"]
