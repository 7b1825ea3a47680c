//! Godwit quickstart: open (creating or upgrading) a database, then read and write rows through
//! the same structs that define the tables.

mod schema;

use std::error::Error;

use migrate_runtime::Crud;
use schema::{Db, Team, User};

fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "quickstart.db".to_owned());
    let mut db = Db::open_and_migrate(&path)?;

    // One transaction: all of it is written, or none. Running the program again adds nothing.
    db.transaction(|tx| {
        let team = match tx.find(Team::COL.name.eq("godwits"))?.pop() {
            Some(team) => team.id,
            // An id of 0 lets SQLite assign one; insert returns it.
            None => tx.insert(&Team { id: 0, name: "godwits".into() })?,
        };
        for (email, name) in [("ada@example.com", "Ada"), ("grace@example.com", "Grace")] {
            if tx.find(User::COL.email.eq(email))?.is_empty() {
                let user = User {
                    id: 0,
                    email: email.into(),
                    name: name.into(),
                    bio: None,
                    karma: 0,
                    team_id: Some(team),
                };
                tx.insert(&user)?;
            }
        }
        Ok::<_, migrate_runtime::Error>(())
    })?;

    // Read by key, update, and read everything back.
    if let Some(mut ada) = db.find(User::COL.email.eq("ada@example.com"))?.pop() {
        ada.karma += 1;
        ada.bio.get_or_insert_with(|| "wrote the first program".to_owned());
        db.update(&ada)?;
        let again = db.get::<User>(ada.id)?.ok_or("ada vanished")?;
        println!("ada has karma {}", again.karma);
    }
    for team in db.list::<Team>()? {
        println!("team {} {:?}", team.id, team.name);
    }
    for user in db.list::<User>()? {
        println!(
            "user {} {:?} <{}> karma {} team {:?} bio {:?}",
            user.id, user.name, user.email, user.karma, user.team_id, user.bio
        );
    }
    println!("{path}: {} migration(s) applied, schema up to date", Db::MIGRATIONS.len());
    Ok(())
}
