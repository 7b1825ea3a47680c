//! Rust field types -> SQL types, `sql_type` validation and `default` literals.

use syn::{Expr, ExprLit, ExprUnary, GenericArgument, Lit, LitStr, PathArguments, Type, UnOp};

use crate::model::SqlType;

/// What the parser knows about a field's Rust type (after unwrapping `Option`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `i8`..`i64` (`signed`) or `u8`..`u32`, with the bit width.
    Int { signed: bool, bits: u32 },
    /// `bool`.
    Bool,
    /// `f32`, `f64`.
    Float,
    /// `String`.
    Text,
    /// `Vec<u8>`.
    Bytes,
    /// `u64`, `usize`, `isize`, `i128`, `u128`: integers SQLite's 64-bit INTEGER cannot hold
    /// exactly in general; they need an explicit `sql_type`.
    WideInt,
    /// Any other type: it needs `sql_type`.
    Unknown,
}

impl Kind {
    /// The SQL type a field of this kind gets without `sql_type`.
    pub(crate) fn sql_type(self) -> Option<SqlType> {
        match self {
            Self::Int { .. } | Self::Bool => Some(SqlType::Integer),
            Self::Float => Some(SqlType::Real),
            Self::Text => Some(SqlType::Text),
            Self::Bytes => Some(SqlType::Blob),
            Self::WideInt | Self::Unknown => None,
        }
    }
}

/// Splits `Option<T>` into `(true, T)`; any other type is `(false, ty)`.
pub(crate) fn unwrap_option(ty: &Type) -> (bool, &Type) {
    match single_generic(ty, "Option", &["std", "core"], "option") {
        Some(inner) => (true, inner),
        None => (false, ty),
    }
}

/// The `T` of `Name<T>`, `std::mod_name::Name<T>` or `core::mod_name::Name<T>`.
fn single_generic<'a>(ty: &'a Type, name: &str, crates: &[&str], module: &str) -> Option<&'a Type> {
    let path = type_path(ty)?;
    let last = path.segments.last()?;
    if last.ident != name || !is_prelude_path(path, crates, module) {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [GenericArgument::Type(inner)] => Some(inner),
        _ => None,
    }
}

fn type_path(ty: &Type) -> Option<&syn::Path> {
    match ty {
        Type::Path(p) if p.qself.is_none() => Some(&p.path),
        Type::Group(g) => type_path(&g.elem),
        Type::Paren(p) => type_path(&p.elem),
        _ => None,
    }
}

/// `Name`, or `crate::module::Name` for one of the given crates.
fn is_prelude_path(path: &syn::Path, crates: &[&str], module: &str) -> bool {
    let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match segs.as_slice() {
        [_] => path.leading_colon.is_none(),
        [krate, m, _] => crates.contains(&krate.as_str()) && m == module,
        _ => false,
    }
}

/// Classifies a (non-`Option`) field type.
pub(crate) fn classify(ty: &Type) -> Kind {
    if let Some(inner) = single_generic(ty, "Vec", &["std", "alloc"], "vec") {
        return if type_path(inner).is_some_and(|p| p.is_ident("u8")) {
            Kind::Bytes
        } else {
            Kind::Unknown
        };
    }
    let Some(path) = type_path(ty) else { return Kind::Unknown };
    if let Some(ident) = path.get_ident() {
        let name = ident.to_string();
        let int = |signed, bits| Kind::Int { signed, bits };
        return match name.as_str() {
            "i8" => int(true, 8),
            "i16" => int(true, 16),
            "i32" => int(true, 32),
            "i64" => int(true, 64),
            "u8" => int(false, 8),
            "u16" => int(false, 16),
            "u32" => int(false, 32),
            "u64" | "usize" | "isize" | "i128" | "u128" => Kind::WideInt,
            "bool" => Kind::Bool,
            "f32" | "f64" => Kind::Float,
            "String" => Kind::Text,
            _ => Kind::Unknown,
        };
    }
    let is_string =
        path.segments.last().is_some_and(|s| s.ident == "String" && s.arguments.is_none())
            && is_prelude_path(path, &["std", "alloc"], "string");
    if is_string { Kind::Text } else { Kind::Unknown }
}

/// Parses `sql_type = ".."`: only the canonical names (any ASCII case). Anything else gets a
/// message giving the affinity SQLite would apply and the canonical name to write instead.
pub(crate) fn parse_sql_type(lit: &LitStr) -> Result<SqlType, String> {
    let written = lit.value();
    if let Some(ty) = SqlType::from_sql(written.trim()).filter(|_| written.trim() == written) {
        return Ok(ty);
    }
    let affinity = affinity(&written);
    let extra = match affinity {
        SqlType::Numeric if !written.to_ascii_uppercase().contains("NUMERIC") => {
            " (NUMERIC affinity turns text such as '0123' into the number 123); \
             for text write sql_type = \"TEXT\", for numbers sql_type = \"NUMERIC\""
                .to_owned()
        }
        other => format!("; write sql_type = \"{}\"", other.as_sql()),
    };
    Err(format!(
        "sql_type \"{written}\" is not a canonical SQLite type: SQLite would give it {} affinity{extra} \
         (accepted: INTEGER, REAL, TEXT, BLOB, NUMERIC, and ANY in a strict table)",
        affinity.as_sql()
    ))
}

/// SQLite's affinity rules (Datatypes In SQLite, section 3.1), in their order.
fn affinity(declared: &str) -> SqlType {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        SqlType::Integer
    } else if ["CHAR", "CLOB", "TEXT"].iter().any(|s| t.contains(s)) {
        SqlType::Text
    } else if t.contains("BLOB") || t.trim().is_empty() {
        SqlType::Blob
    } else if ["REAL", "FLOA", "DOUB"].iter().any(|s| t.contains(s)) {
        SqlType::Real
    } else {
        SqlType::Numeric
    }
}

/// A literal default, checked against the field and rendered as SQL.
pub(crate) fn render_default(expr: &Expr, kind: Kind, ty: SqlType) -> Result<String, String> {
    let (negative, lit) = match expr {
        Expr::Lit(ExprLit { lit, .. }) => (false, lit),
        Expr::Unary(ExprUnary { op: UnOp::Neg(_), expr, .. }) => match &**expr {
            Expr::Lit(ExprLit { lit: lit @ (Lit::Int(_) | Lit::Float(_)), .. }) => (true, lit),
            _ => return Err(not_a_literal()),
        },
        Expr::Group(g) => return render_default(&g.expr, kind, ty),
        _ => return Err(not_a_literal()),
    };
    // The type the literal must have: the Rust type when it is known, else the `sql_type`.
    let want = match kind {
        Kind::Int { signed, bits } => {
            Want::Int { min: int_min(signed, bits), max: int_max(signed, bits) }
        }
        Kind::Bool => Want::Bool,
        Kind::Float => Want::Number,
        Kind::Text => Want::Text,
        Kind::Bytes => Want::Bytes,
        Kind::WideInt | Kind::Unknown => match ty {
            SqlType::Integer => Want::Int { min: i128::from(i64::MIN), max: i128::from(i64::MAX) },
            SqlType::Real | SqlType::Numeric => Want::Number,
            SqlType::Text => Want::Text,
            SqlType::Blob => Want::Bytes,
            SqlType::Any => Want::Any,
        },
    };
    let sign = if negative { "-" } else { "" };
    let mismatch =
        || Err(format!("this default does not match the field's type: {}", want.expected()));
    match lit {
        Lit::Int(i) => {
            let (min, max) = match want {
                Want::Int { min, max } => (min, max),
                Want::Any => (i128::from(i64::MIN), i128::from(i64::MAX)),
                Want::Number => return Ok(format!("{sign}{}", i.base10_digits())),
                _ => return mismatch(),
            };
            let digits = i.base10_digits();
            match digits.parse::<i128>().map(|v| if negative { -v } else { v }) {
                Ok(v) if v >= min && v <= max => Ok(v.to_string()),
                _ => Err(format!(
                    "default {sign}{digits} is out of range for this column ({min} to {max})"
                )),
            }
        }
        Lit::Float(f) if matches!(want, Want::Number | Want::Any) => {
            Ok(format!("{sign}{}", f.base10_digits()))
        }
        Lit::Bool(b) if matches!(want, Want::Bool | Want::Any) => {
            Ok(if b.value { "1" } else { "0" }.to_owned())
        }
        Lit::Str(s) if matches!(want, Want::Text | Want::Any) => {
            let v = s.value();
            if v.contains('\0') {
                return Err("a default string cannot contain a NUL character".to_owned());
            }
            if super::sqltext::has_breakpoint_line(&v) {
                return Err(format!(
                    "a `default` string cannot hold a line `{}`, which migration files use to \
                     separate statements; remove that line",
                    super::sqltext::BREAKPOINT
                ));
            }
            Ok(format!("'{}'", v.replace('\'', "''")))
        }
        Lit::ByteStr(b) if matches!(want, Want::Bytes | Want::Any) => {
            let hex: String = b.value().iter().map(|byte| format!("{byte:02X}")).collect();
            Ok(format!("X'{hex}'"))
        }
        _ => mismatch(),
    }
}

#[derive(Debug, Clone, Copy)]
enum Want {
    Int { min: i128, max: i128 },
    Bool,
    Number,
    Text,
    Bytes,
    Any,
}

impl Want {
    fn expected(self) -> &'static str {
        match self {
            Self::Int { .. } => "write an integer literal, e.g. default = 0",
            Self::Bool => "write default = true or default = false",
            Self::Number => "write a number, e.g. default = 0.5",
            Self::Text => "write a string literal, e.g. default = \"free\"",
            Self::Bytes => "write a byte string literal, e.g. default = b\"\\x00\"",
            Self::Any => "write a literal",
        }
    }
}

fn not_a_literal() -> String {
    "default takes a Rust literal (0, -1, 1.5, true, \"text\", b\"bytes\"); \
     for an SQL expression write default_sql = \"..\""
        .to_owned()
}

fn int_min(signed: bool, bits: u32) -> i128 {
    if signed { -(1i128 << (bits - 1)) } else { 0 }
}

fn int_max(signed: bool, bits: u32) -> i128 {
    if signed { (1i128 << (bits - 1)) - 1 } else { (1i128 << bits) - 1 }
}
