//! Two databases, two folders: the notes library and the app settings.
use schema_core::build::Generator;

fn main() {
    Generator::new()
        .schema("src/library.rs")
        .migrations("migrations/library")
        .db_name("LibraryDb")
        .run();
    Generator::new()
        .schema("src/settings.rs")
        .migrations("migrations/settings")
        .db_name("SettingsDb")
        .run();
}
