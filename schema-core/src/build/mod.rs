//! The build.rs entry point: folder checks, replay, generation, `$OUT_DIR` embedding.
