# trimtab container image: a release build on the Rust image, run as a non-root user on
# distroless (glibc and libgcc, no shell, no package manager). The agent writes no files, so the
# container runs with a read-only root filesystem.
#
# The build stage is also run without Docker, step by step, by .ci/image.sh (CI has no Docker
# engine): keep its COPY and RUN lines simple, one source or a list of files each.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# The dependency layer: the manifest and lock file alone (benches/ because Cargo.toml names its
# files) build every dependency against a placeholder crate. Docker reuses this layer until
# Cargo.toml or Cargo.lock change, so editing trimtab's own code rebuilds only trimtab.
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY benches ./benches
RUN mkdir -p src && echo 'fn main() {}' > src/main.rs && : > src/lib.rs && cargo build --release --locked --bin trimtab && rm -rf src
COPY src ./src
COPY data ./data
COPY examples ./examples
COPY policies ./policies
# touch: the sources may be older than the placeholder's build, and cargo compares times.
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin trimtab

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/trimtab /usr/local/bin/trimtab
# 65532: distroless's nonroot user.
USER 65532:65532
# The agent's local API; it listens on 127.0.0.1 unless agent.listen says otherwise.
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["trimtab", "health"]
ENTRYPOINT ["trimtab"]
# The config from a mounted file; for task definitions without volumes, run `run` alone and pass
# the TOML in the environment variable TRIMTAB_CONFIG.
CMD ["run", "--config", "/etc/trimtab/trimtab.toml"]
