//! The error collector (serde_derive's `Ctxt`): every mistake in a struct is reported at once.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;

/// Collects errors while a struct is parsed. It must be consumed with [`Ctxt::check`]; dropping
/// it unchecked panics, so an error can never be silently lost.
pub(crate) struct Ctxt {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    pub(crate) fn new() -> Self {
        Self { errors: RefCell::new(Some(Vec::new())) }
    }

    /// An error spanned on the tokens of `obj`.
    pub(crate) fn error_spanned_by<T: ToTokens, M: Display>(&self, obj: T, msg: M) {
        self.syn_error(syn::Error::new_spanned(obj.into_token_stream(), msg));
    }

    /// An error at `span`.
    pub(crate) fn error_at<M: Display>(&self, span: Span, msg: M) {
        self.syn_error(syn::Error::new(span, msg));
    }

    pub(crate) fn syn_error(&self, err: syn::Error) {
        self.errors.borrow_mut().as_mut().expect("Ctxt used after check").push(err);
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.errors.borrow().as_ref().is_some_and(|e| !e.is_empty())
    }

    /// All collected errors combined into one, or `Ok` when there were none.
    pub(crate) fn check(self) -> syn::Result<()> {
        let errors = self.errors.borrow_mut().take().expect("Ctxt checked twice");
        combine(errors)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.borrow().is_some() {
            panic!("forgot to check for errors");
        }
    }
}

/// Folds errors into one `syn::Error` (whose `to_compile_error` emits each of them).
pub(crate) fn combine(errors: Vec<syn::Error>) -> syn::Result<()> {
    let mut iter = errors.into_iter();
    let Some(mut combined) = iter.next() else { return Ok(()) };
    for rest in iter {
        combined.combine(rest);
    }
    Err(combined)
}

/// One declared rename, for [`check_renames`]: the item's current SQL name, the old name it
/// claims, who claims it (`field \`name\`` or `struct \`User\``) and where to point.
pub(crate) struct RenameClaim<'a> {
    pub name: &'a str,
    pub renamed_from: Option<&'a str>,
    pub owner: String,
    pub span: Span,
}

/// The two rules `renamed_from` follows for columns and tables alike: the old name must be gone
/// (not the name of another item), and only one item may claim it. `noun` is `column` or
/// `table`, `owner` is `field` or `struct`.
pub(crate) fn check_renames(cx: &Ctxt, noun: &str, owner: &str, claims: &[RenameClaim<'_>]) {
    let mut claimed: HashMap<String, &RenameClaim<'_>> = HashMap::new();
    for claim in claims {
        let Some(old) = claim.renamed_from else { continue };
        let key = old.to_ascii_lowercase();
        if let Some(other) =
            claims.iter().find(|o| o.name.eq_ignore_ascii_case(old) && o.renamed_from.is_none())
        {
            cx.error_at(
                claim.span,
                format_args!(
                    "renamed_from = \"{old}\" names a {noun} that still exists ({}); \
                     renamed_from takes the old name of a {noun} that is gone, so fix or remove it",
                    other.owner
                ),
            );
        } else if let Some(first) = claimed.get(&key) {
            cx.error_at(
                claim.span,
                format_args!(
                    "{} is already renamed_from \"{old}\"; a {noun} can only be renamed into one \
                     {owner}",
                    first.owner
                ),
            );
        } else {
            claimed.insert(key, claim);
        }
    }
}
