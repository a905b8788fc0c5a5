//! Parses the options of `tool!`.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, LitStr, Token, braced};

/// What the author passed to `tool!`.
pub struct ToolInput {
    /// The type that implements the world's `Guest` traits (a name in scope, as wit-bindgen's
    /// `export!` takes an identifier).
    pub export: Ident,
    /// The world to build, by name or fully qualified; optional when the package has one world.
    pub world: Option<LitStr>,
    /// WIT source to use instead of the crate's `wit/` folder.
    pub inline: Option<LitStr>,
}

mod kw {
    syn::custom_keyword!(export);
    syn::custom_keyword!(world);
    syn::custom_keyword!(inline);
}

/// One `key: value` pair, with the key's span for error messages.
struct Opt {
    key: Span,
    value: OptValue,
}

enum OptValue {
    Export(Ident),
    World(LitStr),
    Inline(LitStr),
}

impl Parse for Opt {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = input.span();
        let lookahead = input.lookahead1();
        let value = if lookahead.peek(kw::export) {
            input.parse::<kw::export>()?;
            input.parse::<Token![:]>()?;
            OptValue::Export(input.parse()?)
        } else if lookahead.peek(kw::world) {
            input.parse::<kw::world>()?;
            input.parse::<Token![:]>()?;
            OptValue::World(input.parse()?)
        } else if lookahead.peek(kw::inline) {
            input.parse::<kw::inline>()?;
            input.parse::<Token![:]>()?;
            OptValue::Inline(input.parse()?)
        } else {
            return Err(lookahead.error());
        };
        Ok(Self { key, value })
    }
}

impl Parse for ToolInput {
    /// Accepts `{ key: value, .. }` or the same pairs without the braces.
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let opts = if input.peek(syn::token::Brace) {
            let content;
            braced!(content in input);
            Punctuated::<Opt, Token![,]>::parse_terminated(&content)?
        } else {
            Punctuated::<Opt, Token![,]>::parse_terminated(input)?
        };
        let (mut export, mut world, mut inline) = (None, None, None);
        for Opt { key, value } in opts {
            let duplicate = match value {
                OptValue::Export(path) => export.replace(path).is_some(),
                OptValue::World(lit) => world.replace(lit).is_some(),
                OptValue::Inline(lit) => inline.replace(lit).is_some(),
            };
            if duplicate {
                return Err(syn::Error::new(key, "option given twice"));
            }
        }
        let export = export.ok_or_else(|| {
            input.error("missing `export: Type`, the type that implements the world's exports")
        })?;
        Ok(Self {
            export,
            world,
            inline,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ToolInput;

    #[test]
    fn parses_braced_and_bare_forms() {
        let braced: ToolInput = syn::parse_str(r#"{ world: "echo", export: Echo }"#).unwrap();
        assert_eq!(braced.world.unwrap().value(), "echo");
        assert_eq!(braced.export, "Echo");
        assert!(braced.inline.is_none());

        let bare: ToolInput = syn::parse_str(r#"export: Tool, inline: "package a:b;","#).unwrap();
        assert!(bare.world.is_none());
        assert_eq!(bare.inline.unwrap().value(), "package a:b;");
    }

    #[test]
    fn rejects_missing_export_and_duplicates() {
        let missing = syn::parse_str::<ToolInput>(r#"{ world: "echo" }"#);
        assert!(missing.is_err_and(|e| e.to_string().contains("missing `export")));
        let twice = syn::parse_str::<ToolInput>(r#"{ export: A, export: B }"#);
        assert!(twice.is_err_and(|e| e.to_string() == "option given twice"));
        let unknown = syn::parse_str::<ToolInput>(r#"{ export: A, path: "wit" }"#);
        assert!(unknown.is_err());
        let path = syn::parse_str::<ToolInput>(r#"{ export: a::B }"#);
        assert!(path.is_err());
    }
}
