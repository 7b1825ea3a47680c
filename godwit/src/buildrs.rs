//! Finding the `schema_core::build` configurations a crate's `build.rs` runs, so `godwit check`
//! checks every database of the crate without being told their paths.

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// One generator configuration of a build script: `None` fields keep [`Generator`]'s defaults.
///
/// [`Generator`]: schema_core::build::Generator
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GeneratorConfig {
    /// `.schema("..")`.
    pub schema: Option<String>,
    /// `.migrations("..")`.
    pub migrations: Option<String>,
    /// `.db_name("..")`.
    pub db_name: Option<String>,
}

/// The configurations a build script runs: every `schema_core::build::generate()` call (the
/// defaults) and every `Generator::new()` method chain written as one expression, with the
/// string literals given to `.schema`, `.migrations` and `.db_name`.
///
/// # Errors
/// The message when the file is not Rust, or a chain passes something other than a string
/// literal (the command then needs `--schema`/`--migrations`/`--db-name`).
pub(crate) fn detect(source: &str) -> Result<Vec<GeneratorConfig>, String> {
    let stream: TokenStream =
        source.parse().map_err(|e| format!("build.rs does not parse as Rust: {e}"))?;
    let mut out = Vec::new();
    scan(&stream.into_iter().collect::<Vec<_>>(), &mut out)?;
    Ok(out)
}

fn is_ident(t: Option<&TokenTree>, name: &str) -> bool {
    matches!(t, Some(TokenTree::Ident(i)) if i == name)
}

fn is_punct(t: Option<&TokenTree>, c: char) -> bool {
    matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

fn paren(t: Option<&TokenTree>) -> Option<TokenStream> {
    match t {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => Some(g.stream()),
        _ => None,
    }
}

/// Whether `tokens[i..]` starts with `a :: b ( )`.
fn path_call(tokens: &[TokenTree], i: usize, a: &str, b: &str) -> bool {
    is_ident(tokens.get(i), a)
        && is_punct(tokens.get(i + 1), ':')
        && is_punct(tokens.get(i + 2), ':')
        && is_ident(tokens.get(i + 3), b)
        && paren(tokens.get(i + 4)).is_some_and(|s| s.is_empty())
}

fn scan(tokens: &[TokenTree], out: &mut Vec<GeneratorConfig>) -> Result<(), String> {
    let mut i = 0;
    while i < tokens.len() {
        if path_call(tokens, i, "build", "generate") {
            out.push(GeneratorConfig::default());
            i += 5;
            continue;
        }
        if path_call(tokens, i, "Generator", "new") {
            let mut config = GeneratorConfig::default();
            i += 5;
            while is_punct(tokens.get(i), '.') {
                let (Some(TokenTree::Ident(method)), Some(args)) =
                    (tokens.get(i + 1), paren(tokens.get(i + 2)))
                else {
                    break;
                };
                let method = method.to_string();
                let slot = match method.as_str() {
                    "schema" => &mut config.schema,
                    "migrations" => &mut config.migrations,
                    "db_name" => &mut config.db_name,
                    _ => {
                        i += 3;
                        continue;
                    }
                };
                let lit: syn::LitStr = syn::parse2(args).map_err(|_| {
                    format!(
                        "build.rs calls Generator::{method}(..) with something other than a \
                         string literal; pass --{} (and the other paths) to godwit check",
                        method.replace('_', "-")
                    )
                })?;
                *slot = Some(lit.value());
                i += 3;
            }
            out.push(config);
            continue;
        }
        if let TokenTree::Group(g) = &tokens[i] {
            scan(&g.stream().into_iter().collect::<Vec<_>>(), out)?;
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(schema: &str, migrations: &str, db: &str) -> GeneratorConfig {
        GeneratorConfig {
            schema: Some(schema.into()),
            migrations: Some(migrations.into()),
            db_name: Some(db.into()),
        }
    }

    #[test]
    fn finds_every_configuration() {
        let source = r##"
            use schema_core::build::Generator;
            // Generator::new().schema("commented out").run();
            fn main() {
                schema_core::build::generate();
                Generator::new().schema("src/db/app.rs").migrations("migrations/app").db_name("AppDb").run();
                if true {
                    schema_core::build::Generator::new()
                        .db_name(r#"PulseDb"#)
                        .migrations("migrations/pulse")
                        .schema("src/db/pulse.rs")
                        .run();
                }
                let _ = "Generator::new().schema(\"in a string\")";
            }
        "##;
        assert_eq!(
            detect(source).unwrap(),
            [
                GeneratorConfig::default(),
                config("src/db/app.rs", "migrations/app", "AppDb"),
                config("src/db/pulse.rs", "migrations/pulse", "PulseDb"),
            ]
        );
        assert_eq!(detect("fn main() {}").unwrap(), []);
    }

    #[test]
    fn a_computed_path_asks_for_the_flag() {
        let err =
            detect("fn main() { Generator::new().schema(format!(\"x\")).run(); }").unwrap_err();
        assert!(err.contains("--schema"), "{err}");
        let err = detect("fn main() { Generator::new().db_name(NAME).run(); }").unwrap_err();
        assert!(err.contains("--db-name"), "{err}");
    }
}
