//! The `godwit` binary: parses the command line and runs one command of the `godwit` library.
//! Exit codes: 0 nothing to report, 1 a finding, 2 the command could not run (usage included).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use godwit::{CheckArgs, DiffArgs, EXIT_ERROR, NewArgs, Report, StatusArgs};

const EXIT_CODES: &str = "Exit codes: 0 nothing to report; 1 a finding (pending, edited or \
unknown migrations, a pending schema change, a folder the build refuses, drift, a table pull \
cannot reproduce exactly, a database baseline refuses); 2 the command \
could not run (usage error, missing or unreadable file, SQLite error).";

/// Godwit's command-line tool for SQLite migrations.
///
/// Migration status, new hand-written migrations, check mode without cargo, drift, pulling an
/// existing database into structs, and baselining it. No command creates a database; only
/// `baseline` writes one (its ledger rows, after its proof).
#[derive(Debug, Parser)]
#[command(name = "godwit", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every migration of the folder and, with --db, where the database stands.
    ///
    /// With --db, each migration is applied (ISO-8601 UTC time, duration), pending or edited
    /// (stored and file short hashes), and ledger rows the folder does not have are listed.
    #[command(after_help = EXIT_CODES)]
    Status {
        /// The migrations folder.
        #[arg(long, default_value = "migrations", value_name = "DIR")]
        migrations: PathBuf,
        /// A database to compare with the folder (opened read-only, never created).
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
    },
    /// Writes the next hand-written migration file.
    ///
    /// NNNN_<name>.sql, with a header saying what it may hold; the next `cargo build` adopts
    /// it.
    #[command(after_help = EXIT_CODES)]
    New {
        /// The migration's name (sanitised to [a-z0-9_], at most 60 characters).
        name: String,
        /// The migrations folder (must exist).
        #[arg(long, default_value = "migrations", value_name = "DIR")]
        migrations: PathBuf,
    },
    /// Check mode without cargo: a CI gate for the migrations folder.
    ///
    /// Fails showing the pending SQL when the structs differ from the latest snapshot, and on
    /// every error the build would fail with. Without --schema, --migrations or --db-name it
    /// checks every database the crate's build.rs generates (each `build::generate()` and
    /// `Generator::new()` chain with literal paths). Reads MIGRATION_NAME,
    /// MIGRATION_ALLOW_DROP and MIGRATION_ALLOW_EDIT like the build; writes nothing.
    #[command(after_help = EXIT_CODES)]
    Check {
        /// The crate's directory (where its Cargo.toml and build.rs are).
        #[arg(long, default_value = ".", value_name = "DIR")]
        manifest_path: PathBuf,
        /// The schema file, relative to the crate, as given to Generator::schema.
        #[arg(long, value_name = "FILE")]
        schema: Option<PathBuf>,
        /// The migrations folder, relative to the crate, as given to Generator::migrations.
        #[arg(long, value_name = "DIR")]
        migrations: Option<PathBuf>,
        /// The generated type's name, as given to Generator::db_name.
        #[arg(long, value_name = "NAME")]
        db_name: Option<String>,
    },
    /// Writes an existing database's tables as #[derive(Table)] structs.
    ///
    /// What the model cannot express is listed at the end of the file with its SQL, never
    /// dropped. Exit 1 when some table is not reproduced exactly by its struct.
    #[command(after_help = EXIT_CODES)]
    Pull {
        /// The database (opened read-only).
        db: PathBuf,
        /// The schema file to write (never overwritten); without it the file goes to stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Adopts an existing database by recording migrations 0..N as applied.
    ///
    /// Writes the ledger rows the runtime writes, after proving the database's schema equals
    /// what the migrations create; otherwise refuses, showing the differences, and writes
    /// nothing.
    #[command(after_help = EXIT_CODES)]
    Baseline {
        /// The database (must exist; only its ledger is written).
        db: PathBuf,
        /// The migrations folder.
        #[arg(long, default_value = "migrations", value_name = "DIR")]
        migrations: PathBuf,
        /// The last migration the database already has (tag or index); default: the folder's
        /// last journaled migration.
        #[arg(long, value_name = "TAG")]
        to: Option<String>,
        /// Prove and report, but write nothing (exit 0 when the baseline would succeed).
        #[arg(long)]
        dry_run: bool,
    },
    /// Drift between a live database and the migrations its ledger records.
    ///
    /// Tables are compared with the snapshot of the ledger's last migration; views and
    /// triggers with the folder's migrations replayed up to it.
    #[command(after_help = EXIT_CODES)]
    Diff {
        /// The database (opened read-only).
        db: PathBuf,
        /// The migrations folder.
        #[arg(long, default_value = "migrations", value_name = "DIR")]
        migrations: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Status { migrations, db } => godwit::status(&StatusArgs { migrations, db }),
        Command::New { name, migrations } => godwit::new_migration(&NewArgs { name, migrations }),
        Command::Check { manifest_path, schema, migrations, db_name } => {
            let var = |name: &str| std::env::var(name).ok();
            godwit::check(&CheckArgs {
                schema,
                migrations,
                db_name,
                migration_name: var("MIGRATION_NAME"),
                allow_drop: var("MIGRATION_ALLOW_DROP"),
                allow_edit: var("MIGRATION_ALLOW_EDIT"),
                ..CheckArgs::new(manifest_path)
            })
        }
        Command::Baseline { db, migrations, to, dry_run } => {
            godwit::baseline(&godwit::BaselineArgs { db, migrations, to, dry_run })
        }
        Command::Pull { db, out } => godwit::pull(&godwit::PullArgs { db, out }),
        Command::Diff { db, migrations } => godwit::diff(&DiffArgs { db, migrations }),
    };
    match result {
        Ok(report) => print_report(&report),
        Err(e) => {
            eprintln!("error: {}", godwit::report_error(&e));
            ExitCode::from(exit_byte(EXIT_ERROR))
        }
    }
}

fn print_report(report: &Report) -> ExitCode {
    print!("{}", report.text);
    ExitCode::from(exit_byte(report.exit_code()))
}

fn exit_byte(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(u8::MAX)
}
