//! The typed API on real SQLite: every operation on every supported type, NULLs through
//! `Option`, renamed columns, every kind of key (rowid alias, composite, text, blob, user type,
//! key-only, none), and errors that name the table and the column.

#[path = "typed_fixture/mod.rs"]
mod fixture;

use fixture::schema::{
    Account, Blob, Email, EveryType, Level, Link, LogLine, Member, Page, Setting, Slot, Team,
};
use fixture::{count, open};
use migrate_runtime::{Crud, Error, Keyed, Operation, Table};

type Result<T = ()> = std::result::Result<T, Error>;

fn full(id: i64) -> EveryType {
    EveryType {
        id,
        a: i8::MIN,
        b: i16::MAX,
        c: i32::MIN,
        d: i64::MAX,
        e: u8::MAX,
        f: u16::MAX,
        g: u32::MAX,
        h: true,
        i: 1.5,
        j: -2.25e300,
        k: "héllo 'x' \"y\" \0 end".into(),
        l: vec![0, 1, 255],
        m: Level(100),
        email: Email("ada@example.com".into()),
        oa: Some(-1),
        ob: Some(-2),
        oc: Some(-3),
        od: Some(i64::MIN),
        oe: Some(0),
        of: Some(7),
        og: Some(8),
        oh: Some(false),
        oi: Some(-0.5),
        oj: Some(f64::MAX),
        ok: Some(String::new()),
        ol: Some(Vec::new()),
        om: Some(Level(0)),
        oemail: Some(Email("b@example.com".into())),
    }
}

fn nulls(id: i64) -> EveryType {
    EveryType {
        id,
        a: 0,
        b: 0,
        c: 0,
        d: 0,
        e: 0,
        f: 0,
        g: 0,
        h: false,
        i: 0.0,
        j: 0.0,
        k: String::new(),
        l: Vec::new(),
        m: Level(0),
        email: Email(String::new()),
        oa: None,
        ob: None,
        oc: None,
        od: None,
        oe: None,
        of: None,
        og: None,
        oh: None,
        oi: None,
        oj: None,
        ok: None,
        ol: None,
        om: None,
        oemail: None,
    }
}

#[test]
fn every_type_goes_through_every_operation() -> Result {
    let conn = open();
    // Insert: a key of 0 lets SQLite assign one.
    let id = conn.insert(&full(0))?;
    assert_eq!(id, 1);
    assert_eq!(conn.get::<EveryType>(id)?, Some(full(id)));

    // Option fields write and read NULL.
    let null_id = conn.insert(&nulls(0))?;
    assert_eq!(null_id, 2);
    assert_eq!(conn.get::<EveryType>(null_id)?, Some(nulls(null_id)));
    let stored_nulls = count(
        &conn,
        "SELECT count(*) FROM every_type WHERE id = 2 AND oa IS NULL AND ob IS NULL AND oc IS \
         NULL AND od IS NULL AND oe IS NULL AND of IS NULL AND og IS NULL AND oh IS NULL AND oi \
         IS NULL AND oj IS NULL AND ok IS NULL AND ol IS NULL AND om IS NULL AND oemail IS NULL",
    );
    assert_eq!(stored_nulls, 1, "None is stored as NULL");
    // Not-null values are stored with their SQL types (no text for numbers, blobs stay blobs).
    let types: (String, String, String, String, String) = conn.query_row(
        "SELECT typeof(d), typeof(flag), typeof(j), typeof(\"text value\"), typeof(l) FROM \
         every_type WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    assert_eq!(
        types,
        ("integer".into(), "integer".into(), "real".into(), "text".into(), "blob".into())
    );

    // List, in key order.
    assert_eq!(conn.list::<EveryType>()?, [full(1), nulls(2)]);

    // Update every field, Some -> None and None -> Some included.
    let mut swapped = nulls(1);
    swapped.k = "changed".into();
    assert!(conn.update(&swapped)?);
    let mut filled = full(2);
    filled.email = Email("c@example.com".into());
    assert!(conn.update(&filled)?);
    assert_eq!(conn.list::<EveryType>()?, [swapped.clone(), filled.clone()]);

    // Find by a column of every type.
    let col = EveryType::COL;
    assert_eq!(conn.find(col.a.eq(i8::MIN))?, [filled.clone()]);
    assert_eq!(conn.find(col.b.eq(i16::MAX))?, [filled.clone()]);
    assert_eq!(conn.find(col.c.eq(0))?, [swapped.clone()]);
    assert_eq!(conn.find(col.d.eq(i64::MAX))?, [filled.clone()]);
    assert_eq!(conn.find(col.e.eq(u8::MAX))?, [filled.clone()]);
    assert_eq!(conn.find(col.f.eq(u16::MAX))?, [filled.clone()]);
    assert_eq!(conn.find(col.g.eq(u32::MAX))?, [filled.clone()]);
    assert_eq!(conn.find(col.h.eq(true))?, [filled.clone()]);
    assert_eq!(conn.find(col.i.eq(1.5))?, [filled.clone()]);
    assert_eq!(conn.find(col.j.eq(-2.25e300))?, [filled.clone()]);
    assert_eq!(conn.find(col.k.eq("changed"))?, [swapped.clone()]);
    assert_eq!(conn.find(col.k.eq(&filled.k))?, [filled.clone()]);
    assert_eq!(conn.find(col.l.eq(&[0u8, 1, 255][..]))?, [filled.clone()]);
    assert_eq!(conn.find(col.m.eq(Level(100)))?, [filled.clone()]);
    assert_eq!(conn.find(col.email.eq(Email("c@example.com".into())))?, [filled.clone()]);
    assert_eq!(conn.find(col.oa.eq(-1))?, [filled.clone()]);
    assert_eq!(conn.find(col.ob.eq(-2))?, [filled.clone()]);
    assert_eq!(conn.find(col.oc.eq(Some(-3)))?, [filled.clone()]);
    assert_eq!(conn.find(col.od.eq(i64::MIN))?, [filled.clone()]);
    assert_eq!(conn.find(col.oe.eq(0))?, [filled.clone()]);
    assert_eq!(conn.find(col.of.eq(7))?, [filled.clone()]);
    assert_eq!(conn.find(col.og.eq(8))?, [filled.clone()]);
    assert_eq!(conn.find(col.oi.eq(-0.5))?, [filled.clone()]);
    assert_eq!(conn.find(col.oh.eq(Some(false)))?, [filled.clone()]);
    assert_eq!(conn.find(col.oj.eq(f64::MAX))?, [filled.clone()]);
    assert_eq!(conn.find(col.ok.eq(""))?, [filled.clone()]);
    assert_eq!(conn.find(col.ol.eq(&[][..]))?, [filled.clone()]);
    assert_eq!(conn.find(col.om.eq(Level(0)))?, [filled.clone()]);
    let b = Email("b@example.com".into());
    assert_eq!(conn.find(col.oemail.eq(&b))?, [filled.clone()]);
    // NULL matches None.
    assert_eq!(conn.find(col.oa.eq(None))?, [swapped.clone()]);
    assert_eq!(conn.find(col.ol.eq(None))?, [swapped.clone()]);
    assert_eq!(conn.find(col.oemail.eq(None))?, [swapped.clone()]);
    assert_eq!(conn.find(col.om.eq(None).and(col.ok.eq(None)))?, [swapped.clone()]);
    assert!(conn.find(col.k.eq("nobody"))?.is_empty());

    // Delete.
    assert!(conn.delete::<EveryType>(1)?);
    assert_eq!(conn.get::<EveryType>(1)?, None);
    assert!(!conn.delete::<EveryType>(1)?, "a second delete finds nothing");
    assert_eq!(conn.list::<EveryType>()?, [filled]);
    Ok(())
}

#[test]
fn explicit_keys_are_kept_and_zero_lets_sqlite_assign() -> Result {
    let conn = open();
    assert_eq!(conn.insert(&full(42))?, 42);
    assert_eq!(conn.insert(&full(0))?, 43, "AUTOINCREMENT continues after the explicit key");
    conn.delete::<EveryType>(43)?;
    assert_eq!(conn.insert(&full(0))?, 44, "AUTOINCREMENT never reuses a key");
    // An i32 INTEGER PRIMARY KEY without autoincrement is a rowid alias too.
    assert_eq!(conn.insert(&Team { id: 0, name: "reds".into() })?, 1);
    assert_eq!(conn.insert(&Team { id: 10, name: "blues".into() })?, 10);
    assert_eq!(conn.insert(&Team { id: 0, name: "greens".into() })?, 11);
    let teams: Vec<(i32, String)> =
        conn.list::<Team>()?.into_iter().map(|t| (t.id, t.name)).collect();
    assert_eq!(teams, [(1, "reds".into()), (10, "blues".into()), (11, "greens".into())]);
    // A duplicate explicit key is refused by SQLite, not overwritten.
    let err = conn.insert(&Team { id: 10, name: "other".into() }).unwrap_err();
    assert!(matches!(err, Error::Data { operation: Operation::Insert, table: "teams", .. }));
    assert_eq!(conn.get::<Team>(10)?.map(|t| t.name).as_deref(), Some("blues"));
    Ok(())
}

#[test]
fn composite_keys() -> Result {
    let conn = open();
    let page = |owner, slug: &str, body: &str| Page {
        owner,
        slug: slug.into(),
        body: body.into(),
        views: None,
    };
    // A rowid table with a composite key returns its rowid.
    assert_eq!(conn.insert(&page(2, "b", "two b"))?, 1);
    assert_eq!(conn.insert(&page(1, "b", "one b"))?, 2);
    conn.insert(&page(1, "a", "one a"))?;
    assert_eq!(Page::PRIMARY_KEY, ["owner", "slug"]);
    assert_eq!(conn.get::<Page>((1, "b"))?, Some(page(1, "b", "one b")));
    assert_eq!(conn.get::<Page>((1, "c"))?, None);
    let slugs: Vec<(i64, String)> =
        conn.list::<Page>()?.into_iter().map(|p| (p.owner, p.slug)).collect();
    assert_eq!(slugs, [(1, "a".into()), (1, "b".into()), (2, "b".into())], "key order");

    let mut updated = page(1, "b", "edited");
    updated.views = Some(3);
    assert!(conn.update(&updated)?);
    assert_eq!(conn.get::<Page>(updated.key())?, Some(updated.clone()));
    assert_eq!(conn.get::<Page>((2, "b"))?, Some(page(2, "b", "two b")), "other rows untouched");
    assert!(!conn.update(&page(9, "b", "missing"))?);
    assert!(conn.delete::<Page>((1, "b"))?);
    assert!(!conn.delete::<Page>((1, "b"))?);
    assert_eq!(conn.list::<Page>()?.len(), 2);
    assert_eq!(conn.find(Page::COL.slug.eq("b"))?, [page(2, "b", "two b")]);

    // Three key columns of three types.
    let slot = |day, name: &str, open, weight| Slot { day, slot: name.into(), open, weight };
    conn.insert(&slot(1, "am", true, 0.5))?;
    conn.insert(&slot(1, "am", false, 1.5))?;
    conn.insert(&slot(2, "pm", true, 2.5))?;
    assert_eq!(conn.get::<Slot>((1, "am", false))?, Some(slot(1, "am", false, 1.5)));
    assert!(conn.update(&slot(1, "am", false, 9.0))?);
    assert_eq!(conn.get::<Slot>((1, "am", false))?, Some(slot(1, "am", false, 9.0)));
    assert_eq!(conn.get::<Slot>((1, "am", true))?, Some(slot(1, "am", true, 0.5)));
    assert!(conn.delete::<Slot>((1, "am", true))?);
    let open_slots = conn.find(Slot::COL.open.eq(true).and(Slot::COL.day.eq(2)))?;
    assert_eq!(open_slots, [slot(2, "pm", true, 2.5)]);
    Ok(())
}

#[test]
fn text_blob_and_user_type_keys() -> Result {
    let conn = open();
    // WITHOUT ROWID: no rowid to return.
    let theme = Setting { key: "theme".into(), value: Some("dark".into()) };
    assert_eq!(conn.insert(&theme)?, 0);
    conn.insert(&Setting { key: "lang".into(), value: None })?;
    assert_eq!(conn.get::<Setting>("theme")?, Some(theme));
    assert!(conn.update(&Setting { key: "lang".into(), value: Some("en".into()) })?);
    assert_eq!(conn.get::<Setting>("lang")?.and_then(|s| s.value).as_deref(), Some("en"));
    let keys: Vec<String> = conn.list::<Setting>()?.into_iter().map(|s| s.key).collect();
    assert_eq!(keys, ["lang", "theme"]);
    assert!(conn.delete::<Setting>("lang")?);
    assert_eq!(count(&conn, "SELECT count(*) FROM settings WHERE \"setting key\" = 'theme'"), 1);

    let blob = Blob { hash: vec![0xde, 0xad], size: 2 };
    conn.insert(&blob)?;
    conn.insert(&Blob { hash: vec![], size: 0 })?;
    assert_eq!(conn.get::<Blob>(&[0xde, 0xad])?, Some(blob.clone()));
    assert_eq!(conn.get::<Blob>(&[])?.map(|b| b.size), Some(0));
    assert!(conn.update(&Blob { hash: vec![0xde, 0xad], size: 3 })?);
    assert_eq!(conn.get::<Blob>(blob.key())?.map(|b| b.size), Some(3));
    assert!(conn.delete::<Blob>(&[])?);
    assert_eq!(conn.list::<Blob>()?.len(), 1);

    let ada = Email("ada@example.com".into());
    conn.insert(&Account { email: ada.clone(), active: false })?;
    assert_eq!(conn.get::<Account>(&ada)?.map(|a| a.active), Some(false));
    assert!(conn.update(&Account { email: ada.clone(), active: true })?);
    assert_eq!(conn.find(Account::COL.active.eq(true))?.len(), 1);
    assert!(conn.delete::<Account>(&ada)?);
    assert!(conn.list::<Account>()?.is_empty());
    Ok(())
}

#[test]
fn a_table_of_key_columns_only_updates_nothing_but_reports_the_row() -> Result {
    let conn = open();
    conn.insert(&Link { a: 1, b: 2 })?;
    assert!(conn.update(&Link { a: 1, b: 2 })?);
    assert!(!conn.update(&Link { a: 2, b: 1 })?);
    assert_eq!(conn.get::<Link>((1, 2))?, Some(Link { a: 1, b: 2 }));
    assert!(conn.delete::<Link>((1, 2))?);
    assert!(conn.list::<Link>()?.is_empty());
    Ok(())
}

#[test]
fn a_table_without_a_key_inserts_lists_and_finds() -> Result {
    let conn = open();
    assert!(LogLine::PRIMARY_KEY.is_empty());
    assert_eq!(conn.insert(&LogLine { at: 5, msg: "b".into() })?, 1);
    assert_eq!(conn.insert(&LogLine { at: 5, msg: "a".into() })?, 2);
    conn.insert(&LogLine { at: 6, msg: "c".into() })?;
    let at5 = conn.find(LogLine::COL.at.eq(5))?;
    assert_eq!(at5, [LogLine { at: 5, msg: "b".into() }, LogLine { at: 5, msg: "a".into() }]);
    assert_eq!(conn.list::<LogLine>()?.len(), 3);
    Ok(())
}

#[test]
fn filters_join_with_and_and_match_null() -> Result {
    let conn = open();
    conn.insert(&Team { id: 1, name: "reds".into() })?;
    let member =
        |email: &str, karma, team_id| Member { id: 0, email: email.into(), karma, team_id };
    conn.insert(&member("a@x", 5, Some(1)))?;
    conn.insert(&member("b@x", 5, None))?;
    conn.insert(&member("c@x", 7, Some(1)))?;
    let emails = |rows: Vec<Member>| rows.into_iter().map(|m| m.email).collect::<Vec<_>>();
    let col = Member::COL;
    assert_eq!(emails(conn.find(col.team_id.eq(None))?), ["b@x"]);
    assert_eq!(emails(conn.find(col.team_id.eq(1))?), ["a@x", "c@x"]);
    assert_eq!(emails(conn.find(col.team_id.eq(Some(1)).and(col.karma.eq(5)))?), ["a@x"]);
    assert_eq!(emails(conn.find(col.karma.eq(5).and(col.team_id.eq(None)))?), ["b@x"]);
    let wanted = String::from("c@x");
    assert_eq!(emails(conn.find(col.email.eq(&wanted))?), ["c@x"]);
    assert_eq!(
        col.karma.eq(5).and(col.team_id.eq(None)).to_sql_condition(),
        r#""karma" IS ?1 AND "team_id" IS ?2"#
    );
    Ok(())
}

#[test]
fn column_constants_name_renamed_columns_for_raw_sql() -> Result {
    let conn = open();
    let col = EveryType::COL;
    assert_eq!((col.h.name(), col.k.name(), col.email.name()), ("flag", "text value", "e_mail"));
    assert_eq!((col.id.index(), col.k.index()), (0, 11));
    assert_eq!(EveryType::COLUMNS[col.k.index()], "text value");
    assert_eq!(col.k.to_string(), "\"text value\"");
    conn.insert(&full(0))?;
    // The constants make raw SQL typo-proof; Display quotes the identifier.
    let sql = format!("SELECT {}, {} FROM every_type WHERE {} = ?1", col.k, col.email, col.h);
    let (text, email): (String, String) =
        conn.query_row(&sql, [true], |r| Ok((r.get(0)?, r.get(1)?)))?;
    assert_eq!((text.as_str(), email.as_str()), (full(0).k.as_str(), "ada@example.com"));
    Ok(())
}

/// The message of the error `err` wraps (its own message does not repeat it).
fn source_message(err: &Error) -> String {
    std::error::Error::source(err).map(ToString::to_string).unwrap_or_default()
}

fn data_error(err: &Error) -> (Operation, &'static str, Option<&'static str>) {
    match err {
        Error::Data { operation, table, column, .. } => (*operation, *table, *column),
        other => panic!("expected Error::Data, got {other:?}"),
    }
}

#[test]
fn errors_name_the_table_and_the_column() -> Result {
    let conn = open();
    // A value that does not convert: a user type's ToSql refuses it.
    let mut big = full(0);
    big.m = Level(101);
    let err = conn.insert(&big).unwrap_err();
    assert_eq!(data_error(&err), (Operation::Insert, "every_type", Some("m")));
    assert_eq!(err.to_string(), r#"could not insert into "every_type", column "m""#);
    assert!(std::error::Error::source(&err).is_some(), "{err:?}");
    assert_eq!(count(&conn, "SELECT count(*) FROM every_type"), 0, "nothing was written");

    // The same on update, for a renamed column.
    let id = conn.insert(&full(0))?;
    big.id = id;
    big.m = Level(1);
    big.om = Some(Level(200));
    let err = conn.update(&big).unwrap_err();
    assert_eq!(data_error(&err), (Operation::Update, "every_type", Some("om")));

    // A stored value that does not fit its field: 300 in a u8, text in an i64 and a bool, a blob in a String.
    conn.execute("UPDATE every_type SET e = 300", [])?;
    let err = conn.get::<EveryType>(id).unwrap_err();
    assert_eq!(data_error(&err), (Operation::Get, "every_type", Some("e")));
    assert_eq!(err.to_string(), r#"could not get from "every_type", column "e""#);
    conn.execute("UPDATE every_type SET e = 1, d = 'seven'", [])?;
    let err = conn.list::<EveryType>().unwrap_err();
    assert_eq!(data_error(&err), (Operation::List, "every_type", Some("d")));
    conn.execute("UPDATE every_type SET d = 1, oh = 'maybe'", [])?;
    let err = conn.find(EveryType::COL.d.eq(1)).unwrap_err();
    assert_eq!(data_error(&err), (Operation::Find, "every_type", Some("oh")));
    conn.execute("UPDATE every_type SET oh = NULL, \"text value\" = X'00FF'", [])?;
    let err = conn.get::<EveryType>(id).unwrap_err();
    assert_eq!(data_error(&err), (Operation::Get, "every_type", Some("text value")));
    assert_eq!(err.to_string(), r#"could not get from "every_type", column "text value""#);

    // A filter value that does not convert names its column.
    let err = conn.find(EveryType::COL.m.eq(Level(101))).unwrap_err();
    assert_eq!(data_error(&err), (Operation::Find, "every_type", Some("m")));

    // Constraints: SQLite's message names table and column.
    conn.insert(&Team { id: 1, name: "reds".into() })?;
    let member = Member { id: 0, email: "a@x".into(), karma: 1, team_id: Some(1) };
    conn.insert(&member)?;
    let err = conn.insert(&member).unwrap_err();
    assert_eq!(data_error(&err), (Operation::Insert, "members", None));
    assert_eq!(err.to_string(), r#"could not insert into "members""#);
    assert!(source_message(&err).contains("UNIQUE constraint failed: members.email"), "{err:?}");
    let err = conn.update(&Member { id: 1, karma: -1, ..member.clone() }).unwrap_err();
    assert_eq!(data_error(&err), (Operation::Update, "members", None));
    assert!(source_message(&err).contains("CHECK constraint failed"), "{err:?}");
    let err = conn
        .insert(&Member { id: 0, email: "b@x".into(), karma: 0, team_id: Some(9) })
        .unwrap_err();
    assert!(source_message(&err).contains("FOREIGN KEY constraint failed"), "{err:?}");
    let err = conn.delete::<Team>(1).unwrap_err();
    assert_eq!(data_error(&err), (Operation::Delete, "teams", None));
    assert_eq!(err.to_string(), r#"could not delete from "teams""#);
    assert!(source_message(&err).contains("FOREIGN KEY constraint failed"), "{err:?}");
    assert_eq!(conn.list::<Team>()?.len(), 1, "the restricted delete changed nothing");
    Ok(())
}
