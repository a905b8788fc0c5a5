//! Helpers for serving resources: paging a list, and reading a URI back against a template.
//!
//! A tool serves MCP resources by exporting `warden:tool/resources@0.1.0` from its world, next
//! to `include warden:tool/tool@0.1.0;`. [`tool!`](crate::tool) then generates the
//! `exports::warden::tool::resources::Guest` trait (with the types `Listed`, `Page`,
//! `Template`, `Contents`, `Body` and `ReadError`) for the `export` type to implement:
//!
//! - `list-resources(cursor)`: one page of resources; [`paginate`] cuts a full list into
//!   pages with a numeric cursor.
//! - `resource-templates()`: RFC 6570 URI templates such as `notes://{path}`. The host calls
//!   it once at load with nothing granted, so it must return a fixed list.
//! - `read-resource(uri)`: text or bytes, with a MIME type; `read-error::not-found` becomes the
//!   protocol's "resource not found". [`strip_template`] gets the variable of a simple template
//!   back from a URI.
//!
//! The operator pins the namespaces the component may serve (`resources = ["notes://*"]`);
//! every URI outside them is dropped by the host and logged as a security event, so list and
//! read only URIs under your own scheme.
//!
//! # Examples
//!
//! ```no_run
//! warden_sdk::tool!({
//!     inline: r#"
//!         package my-org:memo@0.1.0;
//!
//!         world memo {
//!             include warden:tool/tool@0.1.0;
//!             export warden:tool/resources@0.1.0;
//!
//!             /// How many memos there are.
//!             export count: func() -> u32;
//!         }
//!     "#,
//!     export: Memo,
//! });
//!
//! use exports::warden::tool::resources::{
//!     Body, Contents, Guest as Resources, Listed, Page, ReadError, Template,
//! };
//!
//! const MEMOS: [(&str, &str); 2] = [("a", "first memo"), ("b", "second memo")];
//!
//! struct Memo;
//!
//! impl Guest for Memo {
//!     fn count() -> u32 {
//!         MEMOS.len() as u32
//!     }
//! }
//!
//! impl Resources for Memo {
//!     fn list_resources(cursor: Option<String>) -> Result<Page, String> {
//!         let (page, next_cursor) = warden_sdk::resources::paginate(&MEMOS, cursor.as_deref(), 50)?;
//!         let resources = page
//!             .iter()
//!             .map(|(id, _)| Listed {
//!                 uri: format!("memo://{id}"),
//!                 name: id.to_string(),
//!                 title: None,
//!                 description: None,
//!                 mime_type: Some("text/plain".into()),
//!                 size: None,
//!             })
//!             .collect();
//!         Ok(Page { resources, next_cursor })
//!     }
//!
//!     fn resource_templates() -> Vec<Template> {
//!         vec![Template {
//!             uri_template: "memo://{id}".into(),
//!             name: "memo".into(),
//!             title: None,
//!             description: Some("A memo, by id.".into()),
//!             mime_type: Some("text/plain".into()),
//!         }]
//!     }
//!
//!     fn read_resource(uri: String) -> Result<Vec<Contents>, ReadError> {
//!         let id = warden_sdk::resources::strip_template("memo://{id}", &uri).ok_or(ReadError::NotFound)?;
//!         let (_, text) = MEMOS.iter().find(|(key, _)| *key == id).ok_or(ReadError::NotFound)?;
//!         Ok(vec![Contents {
//!             uri,
//!             mime_type: Some("text/plain".into()),
//!             body: Body::Text(text.to_string()),
//!         }])
//!     }
//! }
//! # fn main() {}
//! ```

/// Cuts `items` into pages of `page_size`: the page that `cursor` names (`None`: the first)
/// and the cursor of the next page, if any. Cursors are decimal offsets.
///
/// # Errors
/// A cursor this function did not make, or past the end: a message for the client.
///
/// # Examples
///
/// ```
/// use warden_sdk::resources::paginate;
///
/// let items = [1, 2, 3, 4, 5];
/// let (page, next) = paginate(&items, None, 2).unwrap();
/// assert_eq!((page, next.as_deref()), (&[1, 2][..], Some("2")));
/// let (page, next) = paginate(&items, next.as_deref(), 2).unwrap();
/// assert_eq!((page, next.as_deref()), (&[3, 4][..], Some("4")));
/// let (page, next) = paginate(&items, next.as_deref(), 2).unwrap();
/// assert_eq!((page, next), (&[5][..], None));
/// assert!(paginate(&items, Some("x"), 2).is_err());
/// ```
pub fn paginate<'a, T>(
    items: &'a [T],
    cursor: Option<&str>,
    page_size: usize,
) -> Result<(&'a [T], Option<String>), String> {
    let start = match cursor {
        None => 0,
        Some(cursor) => cursor
            .parse::<usize>()
            .ok()
            .filter(|start| *start <= items.len())
            .ok_or_else(|| format!("invalid cursor `{cursor}`"))?,
    };
    let end = start.saturating_add(page_size.max(1)).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok((&items[start..end], next))
}

/// The value of the one variable of a template of the form `<prefix>{name}<suffix>` (e.g.
/// `notes://{path}`) in `uri`, if `uri` has that form and the value is not empty.
///
/// # Examples
///
/// ```
/// use warden_sdk::resources::strip_template;
///
/// assert_eq!(strip_template("notes://{path}", "notes://a/b.md"), Some("a/b.md"));
/// assert_eq!(strip_template("issue://{id}.json", "issue://7.json"), Some("7"));
/// assert_eq!(strip_template("notes://{path}", "files://a"), None);
/// ```
pub fn strip_template<'u>(template: &str, uri: &'u str) -> Option<&'u str> {
    let (prefix, rest) = template.split_once('{')?;
    let (_, suffix) = rest.split_once('}')?;
    let value = uri.strip_prefix(prefix)?.strip_suffix(suffix)?;
    (!value.is_empty()).then_some(value)
}
