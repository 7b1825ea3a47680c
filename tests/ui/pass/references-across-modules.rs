// `references` accepts a path; the target only has to implement Table.
#![deny(warnings)]

mod teams {
    use migrate_runtime::Table;

    #[derive(Table)]
    pub struct Team {
        #[column(primary_key)]
        pub id: i64,
    }
}

mod users {
    use migrate_runtime::Table;

    #[derive(Table)]
    pub struct User {
        #[column(primary_key)]
        pub id: i64,
        #[column(references = crate::teams::Team)]
        pub team_id: i64,
        #[column(references = "super::teams::Team::id")]
        pub other_team: Option<i64>,
        #[column(references = Self)]
        pub parent: Option<i64>,
    }
}

fn main() {
    use migrate_runtime::Table;
    assert!(users::User::FINGERPRINT.contains("\"ref_table\": \"crate::teams::Team\""));
    assert!(users::User::FINGERPRINT.contains("\"ref_table\": \"super::teams::Team\""));
    assert_eq!(teams::Team::NAME, "team");
}
