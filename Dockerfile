# trimtab container image: build a release binary, run it as a non-root user on a minimal base.
# The live agent's `run` command and the ECS wiring arrive with the deployment work; until then
# the default command validates the mounted config.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY src ./src
COPY policies ./policies
COPY examples ./examples
RUN cargo build --release --locked --bin trimtab

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/trimtab /usr/local/bin/trimtab
USER nonroot
ENTRYPOINT ["trimtab"]
CMD ["check", "--config", "/etc/trimtab/trimtab.toml"]
