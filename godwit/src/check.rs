//! `godwit check`: the build's check mode, run without cargo.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use schema_core::build::{BuildEnv, Generator};
use schema_core::error::Error as CoreError;

use crate::buildrs::{self, GeneratorConfig};
use crate::error::Error;
use crate::{Outcome, Report, report_error};

/// The arguments of `godwit check`, mirroring [`Generator`]'s configuration.
#[derive(Debug, Clone)]
pub struct CheckArgs {
    /// The crate's directory (its `CARGO_MANIFEST_DIR`).
    pub manifest_dir: PathBuf,
    /// The schema file, relative to the crate (`src/schema.rs` by default).
    pub schema: Option<PathBuf>,
    /// The migrations folder, relative to the crate (`migrations` by default).
    pub migrations: Option<PathBuf>,
    /// The generated type's name (`Db` by default; only checked to be a type name).
    pub db_name: Option<String>,
    /// `MIGRATION_NAME`, `MIGRATION_ALLOW_DROP`, `MIGRATION_ALLOW_EDIT` as the build would see
    /// them (they shape the pending migration's name and what the planner accepts).
    pub migration_name: Option<String>,
    /// See [`CheckArgs::migration_name`].
    pub allow_drop: Option<String>,
    /// See [`CheckArgs::migration_name`].
    pub allow_edit: Option<String>,
}

impl CheckArgs {
    /// Check the crate at `manifest_dir` with the generator's defaults.
    #[must_use]
    pub fn new(manifest_dir: impl Into<PathBuf>) -> Self {
        Self {
            manifest_dir: manifest_dir.into(),
            schema: None,
            migrations: None,
            db_name: None,
            migration_name: None,
            allow_drop: None,
            allow_edit: None,
        }
    }
}

/// Runs the crate's generator in check mode (`SCHEMA_MIGRATIONS=check`, writing nothing, no
/// `$OUT_DIR` file), for the configuration the flags give, or else for every configuration
/// the crate's `build.rs` runs (each `schema_core::build::generate()` and each
/// `Generator::new()` chain with string-literal paths; the defaults without a `build.rs`): clean when the folder is whole, every file has its journal hash and the
/// structs equal the latest snapshot. A finding is the error the build would fail with: the
/// pending migration's SQL when the structs changed, a hand-written file waiting for adoption,
/// an edited migration, a replay mismatch, a schema error in the structs, ...
///
/// # Errors
/// [`Error::Check`] when the check cannot run at all: the schema file is missing or
/// unreadable, the configuration is invalid, an I/O error; [`Error::BuildScript`] when
/// `build.rs` computes a path (pass the flags instead).
pub fn check(args: &CheckArgs) -> Result<Report, Error> {
    // `--manifest-path path/Cargo.toml`, as cargo spells it, means its directory.
    let manifest_dir = match args.manifest_dir.file_name() {
        Some(name) if name == "Cargo.toml" => {
            args.manifest_dir.parent().unwrap_or(Path::new(".")).to_path_buf()
        }
        _ => args.manifest_dir.clone(),
    };
    let mut env = BuildEnv::new(&manifest_dir);
    env.schema_migrations = Some("check".to_owned());
    env.package_name = package_name(&manifest_dir);
    env.migration_name.clone_from(&args.migration_name);
    env.allow_drop.clone_from(&args.allow_drop);
    env.allow_edit.clone_from(&args.allow_edit);
    let configs = configs(args, &manifest_dir)?;
    let several = configs.len() > 1;
    let mut text = String::new();
    let mut outcome = Outcome::Clean;
    for config in &configs {
        let (lines, found) = check_one(config, &env)?;
        if several {
            let _ = writeln!(
                text,
                "{} ({}, {}):",
                config.db_name.as_deref().unwrap_or("Db"),
                config.schema.as_deref().unwrap_or("src/schema.rs"),
                config.migrations.as_deref().unwrap_or("migrations")
            );
            for line in lines.lines() {
                let _ = writeln!(text, "  {line}");
            }
        } else {
            text.push_str(&lines);
        }
        if found == Outcome::Findings {
            outcome = Outcome::Findings;
        }
    }
    Ok(Report { text, outcome })
}

/// The configurations to check: the one the flags give, else every one `build.rs` runs
/// (the defaults when it has none, or there is no `build.rs`).
fn configs(args: &CheckArgs, manifest_dir: &Path) -> Result<Vec<GeneratorConfig>, Error> {
    if args.schema.is_some() || args.migrations.is_some() || args.db_name.is_some() {
        let text = |p: &Option<PathBuf>| p.as_ref().map(|p| p.to_string_lossy().into_owned());
        return Ok(vec![GeneratorConfig {
            schema: text(&args.schema),
            migrations: text(&args.migrations),
            db_name: args.db_name.clone(),
        }]);
    }
    let path = manifest_dir.join("build.rs");
    let source = match std::fs::read_to_string(&path) {
        Ok(source) => source,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(vec![GeneratorConfig::default()]);
        }
        Err(source) => return Err(Error::Io { action: "read", path, source }),
    };
    let found = buildrs::detect(&source).map_err(|message| Error::BuildScript { path, message })?;
    Ok(if found.is_empty() { vec![GeneratorConfig::default()] } else { found })
}

/// Runs the generator of one configuration in check mode: its output lines and outcome.
fn check_one(config: &GeneratorConfig, env: &BuildEnv) -> Result<(String, Outcome), Error> {
    let mut generator = Generator::new();
    if let Some(schema) = &config.schema {
        generator = generator.schema(schema);
    }
    if let Some(migrations) = &config.migrations {
        generator = generator.migrations(migrations);
    }
    if let Some(name) = &config.db_name {
        generator = generator.db_name(name);
    }
    let mut text = String::new();
    match generator.run_in(env) {
        Ok(outcome) => {
            for line in &outcome.cargo_lines {
                if let Some(warning) = line.strip_prefix("cargo:warning=") {
                    let _ = writeln!(text, "warning: {warning}");
                }
            }
            let _ = writeln!(
                text,
                "up to date: {} migration{}, the structs equal the latest snapshot",
                outcome.migrations,
                if outcome.migrations == 1 { "" } else { "s" }
            );
            Ok((text, Outcome::Clean))
        }
        Err(e) if cannot_run(&e) => {
            Err(Error::Check { manifest_dir: env.manifest_dir.clone(), source: Box::new(e) })
        }
        Err(e) => {
            let _ = writeln!(text, "error: {}", report_error(&e));
            Ok((text, Outcome::Findings))
        }
    }
}

/// Errors that mean the check could not run, rather than a finding about the crate.
fn cannot_run(error: &CoreError) -> bool {
    matches!(
        error,
        CoreError::MissingEnv { .. }
            | CoreError::InvalidEnv { .. }
            | CoreError::InvalidConfig { .. }
            | CoreError::Io { .. }
            | CoreError::SchemaFileMissing { .. }
    )
}

/// The `[package]` name in `dir/Cargo.toml`, for the command the check-mode error shows
/// (`SCHEMA_MIGRATIONS=write cargo build -p NAME`). A plain line scan: the name is a simple
/// string in every manifest cargo accepts for a package with a build script.
fn package_name(dir: &Path) -> Option<String> {
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        if let Some(rest) = line.strip_prefix("name") {
            let value = rest.trim_start().strip_prefix('=')?.trim();
            let value = value.strip_prefix('"')?;
            return value.split_once('"').map(|(name, _)| name.to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_name_reads_only_the_package_section() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[workspace]\nname = \"no\"\n\n[package]\nname = \"app\" # the app\nversion = \"1\"\n",
        )
        .unwrap();
        assert_eq!(package_name(dir.path()).as_deref(), Some("app"));
        std::fs::write(dir.path().join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
        assert_eq!(package_name(dir.path()), None);
    }
}
