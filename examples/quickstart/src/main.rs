//! Godwit quickstart: open (creating or upgrading) a database, insert rows, query them.

mod schema;

use std::error::Error;

use migrate_runtime::Table;
use schema::{Db, Team, User};

/// `SELECT "c1", "c2", .. FROM "table"` for a derived table, columns in `from_row` order.
fn select_all<T: Table>() -> String {
    let columns: Vec<String> = T::COLUMNS.iter().map(|c| format!("\"{c}\"")).collect();
    format!("SELECT {} FROM \"{}\" ORDER BY 1", columns.join(", "), T::NAME)
}

fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "quickstart.db".to_owned());
    let db = Db::open_and_migrate(&path)?;
    let conn = db.conn();

    conn.execute("INSERT INTO teams (name) VALUES (?1) ON CONFLICT (name) DO NOTHING", ["godwits"])?;
    let team: i64 = conn.query_row("SELECT id FROM teams WHERE name = ?1", ["godwits"], |r| r.get(0))?;
    for (email, name) in [("ada@example.com", "Ada"), ("grace@example.com", "Grace")] {
        conn.execute(
            "INSERT INTO users (email, name, team_id) VALUES (?1, ?2, ?3) ON CONFLICT (email) DO NOTHING",
            (email, name, team),
        )?;
    }

    for team in conn.prepare(&select_all::<Team>())?.query_map([], Team::from_row)? {
        let team = team?;
        println!("team {} {:?}", team.id, team.name);
    }
    for user in conn.prepare(&select_all::<User>())?.query_map([], User::from_row)? {
        let user = user?;
        println!(
            "user {} {:?} <{}> karma {} team {:?} bio {:?}",
            user.id, user.name, user.email, user.karma, user.team_id, user.bio
        );
    }
    println!("{path}: {} migration(s) applied, schema up to date", Db::MIGRATIONS.len());
    Ok(())
}
