//! `#[store_ops(read)]` and `#[store_ops(write)]`: each beads operation is written once, as a
//! method of the transaction type that may run it, and `Store` gets the same method running it
//! in a transaction of its own. Nothing is copied by hand, so the two cannot drift apart.

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::{parse_macro_input, FnArg, ImplItem, ItemImpl, Pat, Visibility};

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
        "read" => ("snapshot", "On a `Store`: runs in its own read snapshot."),
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
        methods.push(quote! {
            #(#docs)*
            #[doc = ""]
            #[doc = #note]
            pub #sig {
                self.#runner(|tx| tx.#name(#(#args),*))
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
