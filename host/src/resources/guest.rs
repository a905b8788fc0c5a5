//! The values of `warden:tool/resources` as they cross the component boundary: parameters
//! built as component values, results read back into plain Rust types. A result of the wrong
//! shape is an error naming what was expected, never a panic.

use wasmtime::component::Val;

/// One entry of a listed page (`listed`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// `uri`.
    pub uri: String,
    /// `name`.
    pub name: String,
    /// `title`.
    pub title: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `mime-type`.
    pub mime_type: Option<String>,
    /// `size`.
    pub size: Option<u64>,
}

/// A page of the list (`page`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// `resources`.
    pub resources: Vec<Listed>,
    /// `next-cursor`.
    pub next_cursor: Option<String>,
}

/// A URI template (`template`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// `uri-template`.
    pub uri_template: String,
    /// `name`.
    pub name: String,
    /// `title`.
    pub title: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `mime-type`.
    pub mime_type: Option<String>,
}

/// A body (`body`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// `text`.
    Text(String),
    /// `blob`.
    Blob(Vec<u8>),
}

/// Contents of one resource (`contents`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contents {
    /// `uri`.
    pub uri: String,
    /// `mime-type`.
    pub mime_type: Option<String>,
    /// `body`.
    pub body: Body,
}

/// Why a read returned nothing (`read-error`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// `not-found`.
    NotFound,
    /// `failed(message)`.
    Failed(String),
}

/// The parameters of `list-resources`.
pub fn list_params(cursor: Option<String>) -> Vec<Val> {
    vec![Val::Option(cursor.map(|c| Box::new(Val::String(c))))]
}

/// The parameters of `read-resource`.
pub fn read_params(uri: &str) -> Vec<Val> {
    vec![Val::String(uri.to_string())]
}

/// The result of `list-resources`: the page, or the component's error message.
///
/// # Errors
/// The value does not have the WIT shape.
pub fn page(result: &Val) -> Result<Result<Page, String>, String> {
    match result {
        Val::Result(Ok(Some(page))) => {
            let fields = record(page, "page")?;
            let resources = list(field(fields, "resources")?)?
                .iter()
                .map(listed)
                .collect::<Result<_, _>>()?;
            Ok(Ok(Page {
                resources,
                next_cursor: optional_string(field(fields, "next-cursor")?)?,
            }))
        }
        Val::Result(Err(Some(message))) => Ok(Err(string(message)?)),
        _ => Err(shape("result<page, string>")),
    }
}

/// The result of `resource-templates`.
///
/// # Errors
/// The value does not have the WIT shape.
pub fn templates(result: &Val) -> Result<Vec<Template>, String> {
    list(result)?
        .iter()
        .map(|value| {
            let fields = record(value, "template")?;
            Ok(Template {
                uri_template: string(field(fields, "uri-template")?)?,
                name: string(field(fields, "name")?)?,
                title: optional_string(field(fields, "title")?)?,
                description: optional_string(field(fields, "description")?)?,
                mime_type: optional_string(field(fields, "mime-type")?)?,
            })
        })
        .collect()
}

/// The result of `read-resource`.
///
/// # Errors
/// The value does not have the WIT shape.
pub fn contents(result: &Val) -> Result<Result<Vec<Contents>, ReadError>, String> {
    match result {
        Val::Result(Ok(Some(parts))) => list(parts)?
            .iter()
            .map(|part| {
                let fields = record(part, "contents")?;
                let body = match field(fields, "body")? {
                    Val::Variant(case, Some(payload)) if case == "text" => {
                        Body::Text(string(payload)?)
                    }
                    Val::Variant(case, Some(payload)) if case == "blob" => Body::Blob(
                        list(payload)?
                            .iter()
                            .map(|byte| match byte {
                                Val::U8(byte) => Ok(*byte),
                                _ => Err(shape("list<u8>")),
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                    _ => return Err(shape("body")),
                };
                Ok(Contents {
                    uri: string(field(fields, "uri")?)?,
                    mime_type: optional_string(field(fields, "mime-type")?)?,
                    body,
                })
            })
            .collect::<Result<_, _>>()
            .map(Ok),
        Val::Result(Err(Some(error))) => match &**error {
            Val::Variant(case, None) if case == "not-found" => Ok(Err(ReadError::NotFound)),
            Val::Variant(case, Some(message)) if case == "failed" => {
                Ok(Err(ReadError::Failed(string(message)?)))
            }
            _ => Err(shape("read-error")),
        },
        _ => Err(shape("result<list<contents>, read-error>")),
    }
}

fn listed(value: &Val) -> Result<Listed, String> {
    let fields = record(value, "listed")?;
    Ok(Listed {
        uri: string(field(fields, "uri")?)?,
        name: string(field(fields, "name")?)?,
        title: optional_string(field(fields, "title")?)?,
        description: optional_string(field(fields, "description")?)?,
        mime_type: optional_string(field(fields, "mime-type")?)?,
        size: match field(fields, "size")? {
            Val::Option(None) => None,
            Val::Option(Some(size)) => match &**size {
                Val::U64(size) => Some(*size),
                _ => return Err(shape("option<u64>")),
            },
            _ => return Err(shape("option<u64>")),
        },
    })
}

fn shape(expected: &str) -> String {
    format!("the component returned a value that is not a `{expected}`")
}

fn record<'v>(value: &'v Val, name: &str) -> Result<&'v [(String, Val)], String> {
    match value {
        Val::Record(fields) => Ok(fields),
        _ => Err(shape(name)),
    }
}

fn field<'v>(fields: &'v [(String, Val)], name: &str) -> Result<&'v Val, String> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
        .ok_or_else(|| format!("the component returned a record without `{name}`"))
}

fn list(value: &Val) -> Result<&[Val], String> {
    match value {
        Val::List(items) => Ok(items),
        _ => Err(shape("list")),
    }
}

fn string(value: &Val) -> Result<String, String> {
    match value {
        Val::String(text) => Ok(text.clone()),
        _ => Err(shape("string")),
    }
}

fn optional_string(value: &Val) -> Result<Option<String>, String> {
    match value {
        Val::Option(None) => Ok(None),
        Val::Option(Some(inner)) => string(inner).map(Some),
        _ => Err(shape("option<string>")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(value: Val) -> Val {
        Val::Option(Some(Box::new(value)))
    }

    #[test]
    fn reads_contents_and_errors() {
        let part = Val::Record(vec![
            ("uri".into(), Val::String("notes://a".into())),
            ("mime-type".into(), some(Val::String("text/plain".into()))),
            (
                "body".into(),
                Val::Variant("blob".into(), Some(Box::new(Val::List(vec![Val::U8(7)])))),
            ),
        ]);
        let ok = Val::Result(Ok(Some(Box::new(Val::List(vec![part])))));
        assert_eq!(
            contents(&ok).unwrap().unwrap(),
            [Contents {
                uri: "notes://a".into(),
                mime_type: Some("text/plain".into()),
                body: Body::Blob(vec![7]),
            }]
        );
        let missing = Val::Result(Err(Some(Box::new(Val::Variant("not-found".into(), None)))));
        assert_eq!(contents(&missing).unwrap(), Err(ReadError::NotFound));
        assert!(contents(&Val::Bool(true)).is_err());
    }
}
