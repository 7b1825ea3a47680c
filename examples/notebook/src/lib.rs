//! A desktop notebook's storage: the notes library and the app settings live in two SQLite
//! files, each with its own Godwit schema and migration history.

pub mod library;
pub mod progress;
pub mod settings;
