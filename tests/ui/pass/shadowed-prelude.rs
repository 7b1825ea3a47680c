// The generated code must use fully qualified paths: every prelude name it could use is
// shadowed here, and warnings are errors.
#![deny(warnings)]
#![allow(dead_code, non_camel_case_types)]

use migrate_runtime::Table;

struct Result;
struct Option;
struct Some;
struct None;
struct Ok;
struct Err;
struct Vec;
struct String;
struct Box;
struct str;
struct usize;
struct core;
struct std;
struct rusqlite;

#[derive(Table)]
#[table(name = "teams")]
pub struct Team {
    #[column(primary_key, autoincrement)]
    pub id: i64,
    #[column(unique)]
    pub name: ::std::string::String,
}

#[derive(Table)]
#[index(columns(email), unique)]
pub struct User {
    #[column(primary_key)]
    pub id: i64,
    pub email: ::std::string::String,
    pub bio: ::core::option::Option<::std::string::String>,
    pub avatar: ::std::option::Option<::std::vec::Vec<u8>>,
    #[column(references = Team, on_delete = "cascade")]
    pub team_id: ::core::option::Option<i64>,
}

fn main() {
    assert_eq!(<User as Table>::NAME, "user");
    assert_eq!(<User as Table>::COLUMNS, ["id", "email", "bio", "avatar", "team_id"]);
    assert_eq!(<Team as Table>::NAME, "teams");
}
