//! Generates migrations/ from src/schema.rs and embeds them (see the README).
fn main() {
    schema_core::build::generate();
}
