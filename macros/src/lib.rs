//! `#[store_ops(read)]` and `#[store_ops(write)]`: each beads operation is written once, as a
//! method of the transaction type that may run it, and `Store` gets the same method running it
//! in a transaction of its own. Nothing is copied by hand, so the two cannot drift apart.
//!
//! `#[derive(Setters)]`: a chainable setter per field of an options struct, so the struct can be
//! `#[non_exhaustive]` (new options are not a breaking change) and still be built outside the
//! crate: `IssueFilter::default().status(Status::Open).limit(20)`.

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::{
    parse_macro_input, Data, DeriveInput, Fields, FnArg, GenericArgument, ImplItem, ItemImpl, Pat,
    PathArguments, Type, Visibility,
};

/// On an `impl ReadTxn<'_>` block (`read`) or `impl WriteTxn<'_>` block (`write`): keeps the
/// block as written and adds an `impl Store` with one method per `pub fn` of it, of the same
/// signature and documentation, that runs the operation in its own read snapshot (`read`) or
/// write transaction (`write`).
#[proc_macro_attribute]
pub fn store_ops(attr: TokenStream, item: TokenStream) -> TokenStream {
    let kind = parse_macro_input!(attr as syn::Ident);
    let block = parse_macro_input!(item as ItemImpl);
    match expand(&kind, &block) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(kind: &syn::Ident, block: &ItemImpl) -> syn::Result<proc_macro2::TokenStream> {
    let (runner, note) = match kind.to_string().as_str() {
        "read" => (
            "read_snapshot",
            "On a `Store`: runs in its own read snapshot (once more when the file was overwritten under it).",
        ),
        "write" => (
            "transaction",
            "On a `Store`: runs in its own write transaction.",
        ),
        _ => {
            return Err(syn::Error::new(
                kind.span(),
                "expected `read` or `write`: which transaction the operations need",
            ))
        }
    };
    let runner = format_ident!("{}", runner);
    let reads = runner == "read_snapshot";
    let mut methods = Vec::new();
    for item in &block.items {
        let ImplItem::Fn(method) = item else {
            continue;
        };
        if !matches!(method.vis, Visibility::Public(_)) {
            continue;
        }
        let sig = &method.sig;
        let name = &sig.ident;
        let mut args = Vec::new();
        for input in sig.inputs.iter().skip(1) {
            let FnArg::Typed(typed) = input else {
                continue;
            };
            let Pat::Ident(ident) = &*typed.pat else {
                return Err(syn::Error::new_spanned(
                    &typed.pat,
                    "a store operation's arguments must be plain names, so `Store` can pass them on",
                ));
            };
            args.push(&ident.ident);
        }
        let docs = method
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc") || a.path().is_ident("allow"));
        // Reads name themselves in their errors; a read may run twice, so it borrows its
        // arguments.
        let call = if reads {
            let op = name.to_string();
            quote! { self.#runner(#op, |tx| tx.#name(#(#args),*)) }
        } else {
            quote! { self.#runner(|tx| tx.#name(#(#args),*)) }
        };
        methods.push(quote! {
            #(#docs)*
            #[doc = ""]
            #[doc = #note]
            pub #sig {
                #call
            }
        });
    }
    Ok(quote! {
        #block

        impl crate::store::Store {
            #(#methods)*
        }
    })
}

/// On a struct with named fields: one `pub fn field(self, value) -> Self` per `pub` field, with
/// the field's documentation. An `Option<T>` field's setter takes the `T` and sets `Some`; an
/// `Option<Option<T>>` field's takes the `Option<T>` (`None` clears); a `Vec<T>` field's takes
/// anything that iterates over values convertible to `T`; `String` and `PathBuf` are taken as
/// anything convertible into them.
#[proc_macro_derive(Setters)]
pub fn derive_setters(item: TokenStream) -> TokenStream {
    let input = parse_macro_input!(item as DeriveInput);
    match expand_setters(&input) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand_setters(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(input, "Setters needs a struct"));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(input, "Setters needs named fields"));
    };
    let mut setters = Vec::new();
    for field in &fields.named {
        if !matches!(field.vis, Visibility::Public(_)) {
            continue;
        }
        let Some(name) = &field.ident else {
            continue;
        };
        let docs: Vec<_> = field
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .collect();
        let fallback = format!("Sets `{name}`.");
        let fallback = docs.is_empty().then(|| quote!(#[doc = #fallback]));
        let (param, assign) = match (
            generic_of(&field.ty, "Option"),
            generic_of(&field.ty, "Vec"),
        ) {
            (Some(inner), _) => match generic_of(inner, "Option") {
                Some(_) => (quote!(value: #inner), quote!(Some(value))),
                None if converts(inner) => {
                    (quote!(value: impl Into<#inner>), quote!(Some(value.into())))
                }
                None => (quote!(value: #inner), quote!(Some(value))),
            },
            (None, Some(item)) => (
                quote!(values: impl IntoIterator<Item = impl Into<#item>>),
                quote!(values.into_iter().map(Into::into).collect()),
            ),
            (None, None) => {
                let ty = &field.ty;
                if converts(ty) {
                    (quote!(value: impl Into<#ty>), quote!(value.into()))
                } else {
                    (quote!(value: #ty), quote!(value))
                }
            }
        };
        setters.push(quote! {
            #(#docs)*
            #fallback
            #[must_use]
            pub fn #name(mut self, #param) -> Self {
                self.#name = #assign;
                self
            }
        });
    }
    let ty = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics #ty #ty_generics #where_clause {
            #(#setters)*
        }
    })
}

/// `T` when `ty` is `wrapper<T>` (by the last path segment's name).
fn generic_of<'a>(ty: &'a Type, wrapper: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != wrapper {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(inner) => Some(inner),
        _ => None,
    }
}

/// Owned text and paths, which a setter takes as anything convertible into them (`&str`).
fn converts(ty: &Type) -> bool {
    let Type::Path(path) = ty else {
        return false;
    };
    path.path
        .segments
        .last()
        .is_some_and(|last| last.ident == "String" || last.ident == "PathBuf")
}
