//! Tool results made of MCP content blocks: recognizing WIT `warden:tool/content.content`
//! in a function's result type, and turning a returned value into checked content blocks.
//!
//! The type is recognized by its shape (component types carry no names): a variant with
//! exactly the cases `text(string)`, `image(media)`, `audio(media)` and `resource(embedded)`,
//! where `media` is `record { data: list<u8>, mime-type: string }` and `embedded` is
//! `record { uri: string, mime-type: string, body: variant { text(string), blob(list<u8>) } }`.
//!
//! What is allowed (everything else makes the call an `isError` naming the part):
//! - images: [`IMAGE_TYPES`]; audio: [`AUDIO_TYPES`];
//! - an embedded text body: `text/*` or [`EMBEDDED_TEXT_TYPES`]; an embedded blob: the image
//!   and audio types or [`EMBEDDED_BLOB_TYPES`];
//! - MIME parameters (`; charset=...`) are dropped and the type is lowercased;
//! - an embedded URI must be an absolute URI (`scheme:rest`, no whitespace or control
//!   characters, at most [`MAX_URI`] bytes).
//!
//! Sizes are bounded by `server.max_output_bytes` over the whole result, as for any result.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rmcp::model::{ContentBlock, ResourceContents};
use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// Image MIME types a tool may return (no SVG: it can carry script).
pub const IMAGE_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];
/// Audio MIME types a tool may return.
pub const AUDIO_TYPES: &[&str] = &[
    "audio/wav",
    "audio/x-wav",
    "audio/mpeg",
    "audio/ogg",
    "audio/webm",
    "audio/flac",
    "audio/aac",
    "audio/mp4",
];
/// MIME types an embedded text body may have besides `text/*`.
pub const EMBEDDED_TEXT_TYPES: &[&str] =
    &["application/json", "application/yaml", "application/xml"];
/// MIME types an embedded blob may have besides the image and audio types.
pub const EMBEDDED_BLOB_TYPES: &[&str] = &["application/octet-stream", "application/pdf"];
/// The longest embedded resource URI, in bytes.
pub const MAX_URI: usize = 2048;

/// Whether `ty` is the WIT content type, or a list of it.
pub fn is_content_result(ty: &Type) -> bool {
    match ty {
        Type::List(list) => is_content(&list.ty()),
        other => is_content(other),
    }
}

/// Whether `ty` has the shape of `warden:tool/content.content`.
fn is_content(ty: &Type) -> bool {
    let Type::Variant(variant) = ty else {
        return false;
    };
    let cases: Vec<_> = variant.cases().collect();
    let [text, image, audio, resource] = &cases[..] else {
        return false;
    };
    text.name == "text"
        && matches!(text.ty, Some(Type::String))
        && image.name == "image"
        && image.ty.as_ref().is_some_and(is_media)
        && audio.name == "audio"
        && audio.ty.as_ref().is_some_and(is_media)
        && resource.name == "resource"
        && resource.ty.as_ref().is_some_and(is_embedded)
}

fn is_bytes(ty: &Type) -> bool {
    matches!(ty, Type::List(list) if matches!(list.ty(), Type::U8))
}

fn is_media(ty: &Type) -> bool {
    let Type::Record(record) = ty else {
        return false;
    };
    let fields: Vec<_> = record.fields().collect();
    matches!(&fields[..], [data, mime]
        if data.name == "data" && is_bytes(&data.ty)
        && mime.name == "mime-type" && matches!(mime.ty, Type::String))
}

fn is_embedded(ty: &Type) -> bool {
    let Type::Record(record) = ty else {
        return false;
    };
    let fields: Vec<_> = record.fields().collect();
    let [uri, mime, body] = &fields[..] else {
        return false;
    };
    let body_ok = match &body.ty {
        Type::Variant(variant) => {
            let cases: Vec<_> = variant.cases().collect();
            matches!(&cases[..], [text, blob]
                if text.name == "text" && matches!(text.ty, Some(Type::String))
                && blob.name == "blob" && blob.ty.as_ref().is_some_and(is_bytes))
        }
        _ => false,
    };
    uri.name == "uri"
        && matches!(uri.ty, Type::String)
        && mime.name == "mime-type"
        && matches!(mime.ty, Type::String)
        && body.name == "body"
        && body_ok
}

/// The content blocks of a returned `content` or `list<content>` value.
///
/// # Errors
/// A MIME type outside the allowlists, a URI that is not an absolute URI, or a value of the
/// wrong shape; the message names the block.
pub fn blocks(value: &Val) -> Result<Vec<ContentBlock>, String> {
    match value {
        Val::List(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| block(item).map_err(|why| format!("content block {i}: {why}")))
            .collect(),
        other => Ok(vec![
            block(other).map_err(|why| format!("content block 0: {why}"))?,
        ]),
    }
}

fn block(value: &Val) -> Result<ContentBlock, String> {
    let Val::Variant(case, Some(payload)) = value else {
        return Err("not a content value".into());
    };
    match (case.as_str(), &**payload) {
        ("text", Val::String(text)) => Ok(ContentBlock::text(text.clone())),
        ("image", media) => {
            let (data, mime) = media_of(media)?;
            let mime = allowed(&mime, "an image", |m| IMAGE_TYPES.contains(&m))?;
            Ok(ContentBlock::image(STANDARD.encode(data), mime))
        }
        ("audio", media) => {
            let (data, mime) = media_of(media)?;
            let mime = allowed(&mime, "audio", |m| AUDIO_TYPES.contains(&m))?;
            Ok(ContentBlock::audio(STANDARD.encode(data), mime))
        }
        ("resource", Val::Record(fields)) => {
            let uri = string_field(fields, "uri")?;
            check_uri(&uri)?;
            let mime = string_field(fields, "mime-type")?;
            let body = field(fields, "body")?;
            let contents = match body {
                Val::Variant(case, Some(payload)) => match (case.as_str(), &**payload) {
                    ("text", Val::String(text)) => ResourceContents::TextResourceContents {
                        uri,
                        mime_type: Some(allowed(&mime, "an embedded text resource", |m| {
                            m.starts_with("text/") || EMBEDDED_TEXT_TYPES.contains(&m)
                        })?),
                        text: text.clone(),
                        meta: None,
                    },
                    ("blob", bytes) => ResourceContents::BlobResourceContents {
                        uri,
                        mime_type: Some(allowed(&mime, "an embedded blob resource", |m| {
                            IMAGE_TYPES.contains(&m)
                                || AUDIO_TYPES.contains(&m)
                                || EMBEDDED_BLOB_TYPES.contains(&m)
                        })?),
                        blob: STANDARD.encode(bytes_of(bytes)?),
                        meta: None,
                    },
                    _ => return Err("an embedded resource body of the wrong shape".into()),
                },
                _ => return Err("an embedded resource body of the wrong shape".into()),
            };
            Ok(ContentBlock::resource(contents))
        }
        _ => Err(format!("a `{case}` block of the wrong shape")),
    }
}

fn field<'a>(fields: &'a [(String, Val)], name: &str) -> Result<&'a Val, String> {
    fields
        .iter()
        .find(|(field, _)| field == name)
        .map(|(_, value)| value)
        .ok_or_else(|| format!("no `{name}` field"))
}

fn string_field(fields: &[(String, Val)], name: &str) -> Result<String, String> {
    match field(fields, name)? {
        Val::String(text) => Ok(text.clone()),
        _ => Err(format!("`{name}` is not a string")),
    }
}

fn bytes_of(value: &Val) -> Result<Vec<u8>, String> {
    let Val::List(items) = value else {
        return Err("bytes that are not a list".into());
    };
    items
        .iter()
        .map(|item| match item {
            Val::U8(byte) => Ok(*byte),
            _ => Err("bytes that are not u8".to_string()),
        })
        .collect()
}

fn media_of(value: &Val) -> Result<(Vec<u8>, String), String> {
    let Val::Record(fields) = value else {
        return Err("media that is not a record".into());
    };
    Ok((
        bytes_of(field(fields, "data")?)?,
        string_field(fields, "mime-type")?,
    ))
}

/// The essence of `mime` (lowercased, parameters dropped) if `allow` accepts it.
fn allowed(mime: &str, what: &str, allow: impl Fn(&str) -> bool) -> Result<String, String> {
    let essence = mime
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let well_formed = essence.split_once('/').is_some_and(|(kind, sub)| {
        let token = |part: &str| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
        };
        token(kind) && token(sub)
    });
    if well_formed && allow(&essence) {
        Ok(essence)
    } else {
        Err(format!(
            "MIME type `{}` is not allowed for {what} (see the README's list of allowed types)",
            mime.escape_debug()
        ))
    }
}

/// Whether `uri` is an absolute URI: `scheme:rest`, printable, no spaces, not too long.
fn check_uri(uri: &str) -> Result<(), String> {
    let shown = || {
        uri.chars()
            .take(200)
            .collect::<String>()
            .escape_debug()
            .to_string()
    };
    if uri.len() > MAX_URI {
        return Err(format!(
            "the embedded resource URI is {} bytes; at most {MAX_URI} are allowed",
            uri.len()
        ));
    }
    let scheme_ok = uri.split_once(':').is_some_and(|(scheme, rest)| {
        let mut chars = scheme.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && !rest.is_empty()
    });
    let printable = uri.chars().all(|c| !c.is_control() && !c.is_whitespace());
    if scheme_ok && printable {
        Ok(())
    } else {
        Err(format!(
            "the embedded resource URI `{}` is not an absolute URI (`scheme:...`, without spaces)",
            shown()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(data: &[u8], mime: &str) -> Val {
        Val::Record(vec![
            (
                "data".into(),
                Val::List(data.iter().map(|b| Val::U8(*b)).collect()),
            ),
            ("mime-type".into(), Val::String(mime.into())),
        ])
    }

    fn embedded(uri: &str, mime: &str, body: Val) -> Val {
        Val::Variant(
            "resource".into(),
            Some(Box::new(Val::Record(vec![
                ("uri".into(), Val::String(uri.into())),
                ("mime-type".into(), Val::String(mime.into())),
                ("body".into(), body),
            ]))),
        )
    }

    #[test]
    fn images_are_base64_with_the_normalized_type() {
        let value = Val::Variant(
            "image".into(),
            Some(Box::new(media(b"\x89PNG", "Image/PNG; x=1"))),
        );
        let blocks = blocks(&value).unwrap();
        let ContentBlock::Image(image) = &blocks[0] else {
            panic!("{blocks:?}")
        };
        assert_eq!(image.mime_type, "image/png");
        assert_eq!(image.data, STANDARD.encode(b"\x89PNG"));
    }

    #[test]
    fn refuses_types_outside_the_allowlists() {
        let svg = Val::Variant(
            "image".into(),
            Some(Box::new(media(b"<svg/>", "image/svg+xml"))),
        );
        let error = blocks(&Val::List(vec![svg])).unwrap_err();
        assert!(
            error.contains("content block 0") && error.contains("image/svg+xml"),
            "{error}"
        );
        let html_blob = embedded(
            "notes://a",
            "text/html",
            Val::Variant("blob".into(), Some(Box::new(Val::List(vec![])))),
        );
        assert!(blocks(&html_blob).is_err());
        let text = embedded(
            "notes://a",
            "text/markdown; charset=utf-8",
            Val::Variant("text".into(), Some(Box::new(Val::String("# hi".into())))),
        );
        assert!(blocks(&text).is_ok());
    }

    #[test]
    fn embedded_uris_must_be_absolute() {
        for bad in ["relative/path", "no scheme", "1abc:x", "notes:", "a b:c"] {
            assert!(check_uri(bad).is_err(), "{bad}");
        }
        for good in [
            "notes://a/b.md",
            "urn:isbn:0451450523",
            "https://example.org/x?y=1",
        ] {
            assert!(check_uri(good).is_ok(), "{good}");
        }
    }
}
