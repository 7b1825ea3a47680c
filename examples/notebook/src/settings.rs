//! The app settings store.

use migrate_runtime::Table;

/// One setting.
#[derive(Debug, Table)]
#[table(name = "settings")]
pub struct Setting {
    /// Setting key.
    #[column(primary_key)]
    pub key: String,
    /// Setting value.
    pub value: String,
    /// Unix milliseconds of the last change; 0 for settings written before 0001.
    #[column(default = 0)]
    pub updated_at: i64,
}

migrate_runtime::include_db!(SettingsDb);
