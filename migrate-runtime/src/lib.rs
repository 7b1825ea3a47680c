//! Godwit's runtime: the embedded migrations of a generated `Db` type and
//! `Db::open_and_migrate`.

pub use rusqlite;
pub use schema_macros::Table;

mod table;
pub use table::Table;

#[doc(hidden)]
pub mod __private;
