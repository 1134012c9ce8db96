# syntax=docker/dockerfile:1
# The pipeline container SageMaker runs for every stage: COLMAP and our `spaceport` binary.
# The state machine starts it as `spaceport run-stage STAGE /opt/ml/processing/job --progress …
# --params …` (cloud/src/state_machine.rs). Build from the repository root:
#   docker build -f deploy/pipeline.Dockerfile -t spaceport-pipeline .

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p pipeline --bin spaceport

FROM debian:bookworm-slim
# COLMAP for Structure-from-Motion; Vulkan loader and Mesa's drivers for the trainer's wgpu
# (on NVIDIA instances the container toolkit mounts the driver's Vulkan ICD, asked for below).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      colmap libvulkan1 mesa-vulkan-drivers ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics
COPY --from=build /src/target/release/spaceport /usr/local/bin/spaceport
RUN useradd --create-home --uid 1000 pipeline
USER pipeline
ENTRYPOINT ["spaceport"]
