//! `#[derive(Tree)]`: makes a struct with named fields a pytree of its fields, so model
//! parameters can be passed to `grad`, `vmap` and the other transforms of `cotangent`.
//!
//! Every field's type must itself implement `cotangent::tree::Tree` (tensors, tuples, `Vec`,
//! `Option`, maps, numbers or other derived structs). Tuple structs are supported with
//! their field indices as names.

use proc_macro::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, Index, parse_macro_input};

/// Derive `cotangent::tree::Tree` for a struct.
#[proc_macro_derive(Tree)]
pub fn derive_tree(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let name = &input.ident;
    let name_str = name.to_string();
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let Data::Struct(data) = &input.data else {
        return syn::Error::new_spanned(&input, "#[derive(Tree)] supports structs only")
            .to_compile_error()
            .into();
    };
    let (accessors, labels): (Vec<proc_macro2::TokenStream>, Vec<String>) = match &data.fields {
        Fields::Named(f) => f
            .named
            .iter()
            .map(|f| {
                let id = f.ident.as_ref().expect("named");
                (quote!(#id), id.to_string())
            })
            .unzip(),
        Fields::Unnamed(f) => (0..f.unnamed.len())
            .map(|i| {
                let idx = Index::from(i);
                (quote!(#idx), i.to_string())
            })
            .unzip(),
        Fields::Unit => (vec![], vec![]),
    };
    let indices: Vec<usize> = (0..accessors.len()).collect();
    let build = match &data.fields {
        Fields::Named(_) => quote! {
            Ok(#name { #(#accessors: ::cotangent::tree::unflatten_field(def, #name_str, #indices, #labels, leaves)?,)* })
        },
        Fields::Unnamed(_) => quote! {
            Ok(#name ( #(::cotangent::tree::unflatten_field(def, #name_str, #indices, #labels, leaves)?,)* ))
        },
        Fields::Unit => quote! { Ok(#name) },
    };
    quote! {
        impl #impl_generics ::cotangent::tree::Tree for #name #ty_generics #where_clause {
            type First = Self;
            fn flatten_into(&self, leaves: &mut Vec<::cotangent::Tensor>) -> ::cotangent::tree::TreeDef {
                ::cotangent::tree::TreeDef::Struct(#name_str, vec![
                    #((#labels, ::cotangent::tree::Tree::flatten_into(&self.#accessors, leaves)),)*
                ])
            }
            fn unflatten_from(
                def: &::cotangent::tree::TreeDef,
                leaves: &mut dyn Iterator<Item = ::cotangent::Tensor>,
            ) -> ::cotangent::Result<Self> {
                #build
            }
        }
    }
    .into()
}
